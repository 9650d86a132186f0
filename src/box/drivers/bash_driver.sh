# agentjail bash driver: one stateful shell context (see docs/drivers.md).
#
# Started by the sandbox manager as `bash --noprofile --norc -c <this file>`.
#   fd 0  requests.  JSON is impractical in bash, so a request is a list of
#         fields, each terminated by a NUL byte:
#           ID NUL COUNT NUL (NAME NUL VALUE NUL) x COUNT  CODE NUL
#   fd 1  the cells' stdout      fd 2  the cells' stderr
#   fd 3  events, one JSON object per line (ready, error, end)
#
# Cells run in this very shell, so cwd, variables (exported or not),
# functions, aliases and options persist.  A cell is run as
#   source /dev/fd/19 19<<<'eval "$__aj_code"'
# at the top level: not in a function, so `declare` makes globals; and in a
# sourced file, so that an interrupt can unwind it (see __aj_on_int).
#
# Everything of ours is named __aj_*, and builtins are called as
# `builtin x` where a cell could have defined a function of that name.

builtin shopt -s expand_aliases

# SIGINT ignored when we start (a script's `cmd &` does that to its child,
# and ignored survives exec) cannot be trapped (POSIX), and every command a
# cell runs would inherit it ignored: no interrupt could stop a cell.  The
# manager never does that (src/jail/spawn.c resets every signal); should
# someone else, start again with SIGINT at its default, if `env` can.
__aj_sigint_ignored() {
	local __aj_s
	IFS= builtin read -r -N 8192 __aj_s </proc/self/status
	[[ $__aj_s =~ SigIgn:[[:space:]]*([0-9a-f]+) ]] && ((16#${BASH_REMATCH[1]} & 2))
} 2>/dev/null
if [[ $BASH_EXECUTION_STRING ]] && __aj_sigint_ignored; then
	if env --default-signal=INT true 2>/dev/null; then
		builtin exec env --default-signal=INT "$BASH" --noprofile --norc -c "$BASH_EXECUTION_STRING"
	fi
	builtin printf '%s\n' "agentjail bash driver: SIGINT is ignored: cells cannot be interrupted" >&2
fi

# Protocol pipes move to fds 20 (requests) and 21 (events); the cells get
# /dev/null as stdin.  Each cell runs with 20 and 21 closed, so its child
# processes can neither read requests nor hold the event pipe open.
exec 20<&0 21>&3 0</dev/null 3>&-

__aj_count=0  # execution_count
__aj_busy=0   # 1 while a cell runs
__aj_intr=0   # 1 once the running cell is being interrupted
__aj_uf=      # the cell's own options among e, u, v, x, set again per cell
__aj_env=()   # this cell's env: name value name value ...
__aj_saved=() # what it replaced: name was-set old-value attributes ...

__aj_emit() {
	builtin printf '%s\n' "$1" >&21 || builtin exit 1
}

# Interrupts.  bash 5.2 hangs for good on a SIGINT that lands in the instant
# it starts waiting for a command: wait_for (jobs.c) installs its own SIGINT
# handler and only then saves the old one, and that handler, finding none
# saved, sends SIGINT to itself again, forever, at full CPU (fixed in bash
# 5.3).  A cell that runs many short commands gives it many such instants.
# So this shell asks, in its ready event, never to be sent SIGINT: the
# manager sends SIGINT to the rest of the process group (the cell's
# commands) and SIGURG to us, and the URG trap, which runs between
# commands, sends us the SIGINT there, where it is safe.
#
# SIGINT: ignored while idle.  While a cell runs, the command in the
# foreground has been killed by the manager's SIGINT; to stop the rest of
# the cell, turn on extdebug with a DEBUG trap that makes every following
# command of the cell return (status 2: unwinds functions and finally the
# sourced cell) until control is back with us.
__aj_on_int() {
	((__aj_busy && !__aj_intr)) || builtin return 0
	__aj_intr=1
	__aj_intr_flags=$-
	builtin set +e # the unwinding returns non-zero: do not exit on it
	builtin shopt -s extdebug
	builtin trap '__aj_skip' DEBUG
}
__aj_skip() {
	[[ $BASH_COMMAND == __aj_* || ${FUNCNAME[1]-} == __aj_* ]] && builtin return 0
	builtin return 2
}
builtin trap '__aj_on_int' INT
builtin trap 'builtin kill -INT $$' URG

# Read one request; exit when the manager closes the pipe.
__aj_read() {
	local __aj_n __aj_i __aj_k __aj_v
	IFS= builtin read -r -d '' -u 20 __aj_id || builtin exit 0
	IFS= builtin read -r -d '' -u 20 __aj_n || builtin exit 0
	if [[ ! $__aj_id =~ ^[0-9]{1,15}$ || ! $__aj_n =~ ^[0-9]{1,6}$ ]]; then
		# The framing is lost: nothing sensible can follow.
		__aj_emit '{"type":"protocol_error","message":"bad request header"}'
		builtin exit 1
	fi
	__aj_env=()
	for ((__aj_i = 0; __aj_i < __aj_n; __aj_i++)); do
		IFS= builtin read -r -d '' -u 20 __aj_k || builtin exit 0
		IFS= builtin read -r -d '' -u 20 __aj_v || builtin exit 0
		__aj_env+=("$__aj_k" "$__aj_v")
	done
	IFS= builtin read -r -d '' -u 20 __aj_code || builtin exit 0
}

# Export this cell's env, remembering what it replaces.  Names that are not
# shell identifiers (bash cannot hold them) and our own are skipped.
__aj_env_apply() {
	local __aj_i __aj_k
	__aj_saved=()
	for ((__aj_i = 0; __aj_i < ${#__aj_env[@]}; __aj_i += 2)); do
		__aj_k=${__aj_env[__aj_i]}
		[[ $__aj_k =~ ^[A-Za-z_][A-Za-z0-9_]*$ && $__aj_k != __aj_* ]] || continue
		if [[ -v $__aj_k ]]; then
			__aj_saved+=("$__aj_k" 1 "${!__aj_k}" "${!__aj_k@a}")
		else
			__aj_saved+=("$__aj_k" 0 "" "")
		fi
		builtin export "$__aj_k=${__aj_env[__aj_i + 1]}"
	done
}
__aj_env_restore() {
	local __aj_i __aj_k
	for ((__aj_i = 0; __aj_i < ${#__aj_saved[@]}; __aj_i += 4)); do
		__aj_k=${__aj_saved[__aj_i]}
		if [[ ${__aj_saved[__aj_i + 1]} == 1 ]]; then
			builtin printf -v "$__aj_k" '%s' "${__aj_saved[__aj_i + 2]}"
			# shellcheck disable=SC2163 # the variable named by __aj_k
			[[ ${__aj_saved[__aj_i + 3]} == *x* ]] || builtin export -n "$__aj_k"
		else
			builtin unset -v "$__aj_k"
		fi
	done 2>/dev/null # readonly by now: leave it
}

# Before a cell: finish one left unfinished by a `break` or `continue` at
# its top level, then read the next request and get ready to run it.
__aj_next() {
	((__aj_busy)) && __aj_after
	__aj_read
	((__aj_count += 1))
	__aj_env_apply
	__aj_intr=0
	__aj_busy=1
}

# After a cell: report it.  Must be the first command after the cell.
__aj_after() {
	{ __aj_rc=$? __aj_uf=${-//[!euvx]/} && builtin set +euvx; } 2>/dev/null
	__aj_busy=0
	local __aj_status=ok __aj_exit=",\"exit_code\":$__aj_rc"
	if ((__aj_intr)); then
		builtin trap - DEBUG
		builtin shopt -u extdebug
		[[ $__aj_intr_flags == *T* ]] || builtin set +T
		[[ $__aj_intr_flags == *E* ]] || builtin set +E
		[[ $__aj_intr_flags == *e* ]] && __aj_uf+=e
		__aj_status=interrupted __aj_exit=
		__aj_emit "{\"id\":$__aj_id,\"type\":\"error\",\"name\":\"KeyboardInterrupt\",\"value\":\"interrupted (SIGINT)\",\"traceback\":\"\"}"
	elif ((__aj_rc != 0)); then
		__aj_status=error
		__aj_emit "{\"id\":$__aj_id,\"type\":\"error\",\"name\":\"ExitStatus\",\"value\":\"$__aj_rc\",\"traceback\":\"exit status $__aj_rc\"}"
	fi
	__aj_env_restore
	builtin trap '__aj_on_int' INT # in case the cell trapped SIGINT itself
	builtin trap 'builtin kill -INT $$' URG
	__aj_emit "{\"id\":$__aj_id,\"type\":\"end\",\"execution_count\":$__aj_count,\"status\":\"$__aj_status\"$__aj_exit}"
}

# Where to source the cell from; without /dev/fd or /proc, plain eval (an
# interrupt then stops the running command but not the rest of the cell).
__aj_src=
for __aj_p in /dev/fd/19 /proc/self/fd/19; do
	__aj_ok=
	builtin source "$__aj_p" 19<<<'__aj_ok=1' 2>/dev/null
	[[ $__aj_ok ]] && __aj_src=$__aj_p && break
done

__aj_emit "{\"type\":\"ready\",\"language\":\"bash\",\"pid\":$$,\"interrupt_signal\":\"SIGURG\"}"

while :; do # entered again if a cell runs `break` at its top level
	while :; do
		__aj_next
		# The cell's own options are set last, so they apply to it alone.
		if [[ $__aj_src ]]; then
			[[ -z $__aj_uf ]] || builtin set -"$__aj_uf"
			# shellcheck disable=SC2016 # expanded by the sourced text, not here
			builtin source "$__aj_src" 19<<<'builtin eval "$__aj_code" 19<&-' 20<&- 21>&-
		else
			[[ -z $__aj_uf ]] || builtin set -"$__aj_uf"
			builtin eval "$__aj_code" 20<&- 21>&-
		fi
		__aj_after
	done
done
