/* caps.c - give up every capability the new user namespace handed us.
 *
 * Order (as minijail does it): securebits first, while we still hold
 * CAP_SETPCAP; then the bounding set, so nothing can be regained by an
 * exec; then the ambient set; and last capset() to zero, which removes
 * CAP_SETPCAP itself. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/internal.h"

int jail_caps_drop(struct aj_err *e)
{
	/* No uid-0 magic in this namespace, ever: exec of anything as
	 * "root" grants no caps (NOROOT), uid changes don't touch caps
	 * (NO_SETUID_FIXUP), nobody may raise ambient caps, and all of it
	 * locked so it cannot be undone. */
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
			     SECBIT_NO_SETUID_FIXUP |
			     SECBIT_NO_SETUID_FIXUP_LOCKED |
			     SECBIT_KEEP_CAPS_LOCKED |
			     SECBIT_NO_CAP_AMBIENT_RAISE |
			     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "set securebits");

	/* The bounding set: drop until the kernel says the number is past
	 * its last capability (EINVAL), so new capabilities are covered. */
	for (unsigned long cap = 0;; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL && cap > 0)
			break;
		return aj_err_sys(e, AJ_EINTERNAL, "drop bounding cap %lu", cap);
	}

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL) /* EINVAL: kernel without ambient caps */
		return aj_err_sys(e, AJ_EINTERNAL, "clear ambient caps");

	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2] = { { 0 } };
	if (syscall(SYS_capset, &hdr, data) < 0)
		return aj_err_sys(e, AJ_EINTERNAL, "capset");
	return 0;
}
