/* tokens.c - per-sandbox access tokens, bound to the key that obtained
 * them (see box.h).
 *
 * A token is "<key id>.<mac>", where mac is the first 20 bytes, in hex,
 * of HMAC-SHA-256 under the sandbox's token_key (32 random bytes made with
 * the sandbox, never written anywhere) of the token's kind ("envd" or
 * "traffic"), a NUL and the key id.  So nothing secret is stored, the same
 * key always gets the same tokens, a token names its key, and it cannot
 * be forged or moved to another sandbox or key without token_key.
 *
 * Issue (box_token_issue):
 *   1. the caller is user or admin, and sees a running sandbox of that id
 *   2. and belongs to its tenant (an admin of another tenant sees it, but
 *      gets no tokens: they would act inside another tenant's sandbox)
 *   3. its identity is added to the sandbox's grants (first time: an
 *      audit record "sandbox.token"; the creator's grant is made at
 *      create and covered by "sandbox.create")
 *   4. both tokens are derived
 *
 * Use (box_auth_sandbox):
 *   1. the running sandbox of that id (any tenant)
 *   2. split the token; recompute the mac for its key id and compare in
 *      constant time
 *   3. the grant of that key (only keys that obtained tokens have one)
 *   4. unless the grant is keyless: the key as the store has it now -
 *      active, of the sandbox's tenant, user or admin.  The store is read
 *      on every use, so a revocation by this process or by `agentjail keys
 *      revoke` beside it takes effect at the next request.
 *   5. the caller is that key, with its role: the audit log names it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "box/sandbox.h"
#include "util/crypto.h"

#define MAC_BYTES 20
#define MAC_HEX (2 * MAC_BYTES)

_Static_assert(KEY_ID_LEN + 1 + MAC_HEX + 1 <= BOX_TOKEN_SIZE,
	       "a token fits BOX_TOKEN_SIZE");
_Static_assert(sizeof(((struct sandbox *)0)->token_key) == AJ_MAC_KEY_LEN,
	       "token_key is a MAC key");

static const char *kind_name(enum box_token kind)
{
	return kind == BOX_TOKEN_TRAFFIC ? "traffic" : "envd";
}

static void token_mac(const struct sandbox *sb, enum box_token kind,
		      const char *key_id, char out[MAC_HEX + 1])
{
	char msg[16 + KEY_ID_LEN + 1];
	const char *k = kind_name(kind);
	size_t kl = strlen(k) + 1, il = strlen(key_id);
	memcpy(msg, k, kl);
	memcpy(msg + kl, key_id, il);
	aj_mac_hex(sb->token_key, msg, kl + il, out, MAC_BYTES);
}

static void token_make(const struct sandbox *sb, enum box_token kind,
		       const char *key_id, char out[BOX_TOKEN_SIZE])
{
	char mac[MAC_HEX + 1];
	token_mac(sb, kind, key_id, mac);
	snprintf(out, BOX_TOKEN_SIZE, "%s.%s", key_id, mac);
}

int sb_grant_add(struct sandbox *sb, const struct box_caller *c)
{
	for (size_t i = 0; i < sb->ngrants; i++)
		if (strcmp(sb->grants[i].who.key_id, c->key_id) == 0)
			return 0;
	struct sb_grant *g = realloc(sb->grants, (sb->ngrants + 1) * sizeof(*g));
	if (!g)
		return -1;
	sb->grants = g;
	g[sb->ngrants++].who = *c;
	return 1;
}

/* The grant of key_id, copied (sb->lock not held).  false if none. */
static bool grant_of(struct sandbox *sb, const char *key_id,
		     struct box_caller *out)
{
	bool found = false;
	pthread_mutex_lock(&sb->lock);
	for (size_t i = 0; i < sb->ngrants && !found; i++)
		if (strcmp(sb->grants[i].who.key_id, key_id) == 0) {
			*out = sb->grants[i].who;
			found = true;
		}
	pthread_mutex_unlock(&sb->lock);
	return found;
}

int box_token_issue(struct box_mgr *m, const struct box_caller *c,
		    const char *id, struct box_tokens *out, struct aj_err *e)
{
	struct sandbox *sb;
	memset(out, 0, sizeof(*out));
	if (sb_lookup(m, c, id, &sb, e) < 0)
		return -1;
	if (c->role < ROLE_USER) {
		sb_unref(sb);
		return aj_err_set(e, AJ_EFORBIDDEN, 0,
				  "a %s key gets no access tokens: they run commands "
				  "and write files, which needs role user",
				  role_name(c->role));
	}
	if (strcmp(c->tenant, sb->tenant) != 0) {
		sb_unref(sb);
		return aj_err_set(e, AJ_EFORBIDDEN, 0,
				  "access tokens go only to keys of the sandbox's own "
				  "tenant");
	}
	pthread_mutex_lock(&sb->lock);
	int added = sb_grant_add(sb, c);
	pthread_mutex_unlock(&sb->lock);
	if (added < 0) {
		sb_unref(sb);
		return aj_err_set(e, AJ_EINTERNAL, 0, "out of memory");
	}
	if (added)
		box_audit(m, c, "sandbox.token", sb->id, NULL, NULL);
	token_make(sb, BOX_TOKEN_ENVD, c->key_id, out->envd);
	token_make(sb, BOX_TOKEN_TRAFFIC, c->key_id, out->traffic);
	sb_unref(sb);
	return 0;
}

/* Step 4: the key behind a grant as the store has it now. */
static int key_now(struct box_mgr *m, const struct sandbox *sb,
		   struct box_caller *who, struct aj_err *e)
{
	struct key_info k;
	if (who->keyless)
		return 0;
	if (store_key_get(box_mgr_store(m), who->key_id, &k, e) < 0) {
		if (e->code != AJ_ENOTFOUND)
			return -1;
		return aj_err_set(e, AJ_EAUTH, 0, "the API key of this access token "
				  "no longer exists");
	}
	if (k.revoked_ms != 0)
		return aj_err_set(e, AJ_EAUTH, 0, "the API key of this access token "
				  "(%s) was revoked", k.id);
	if (strcmp(k.tenant, sb->tenant) != 0 || k.role < ROLE_USER)
		return aj_err_set(e, AJ_EAUTH, 0, "the API key of this access token "
				  "may no longer use it");
	memcpy(who->tenant, k.tenant, sizeof(who->tenant));
	who->role = k.role;
	return 0;
}

int box_auth_sandbox(struct box_mgr *m, const char *id, enum box_token kind,
		     const char *token, struct box_caller *out,
		     struct aj_err *e)
{
	struct box_caller any = { .role = ROLE_ADMIN, .keyless = true };
	struct sandbox *sb;
	if (!id || sb_lookup(m, &any, id, &sb, NULL) < 0)
		return aj_err_set(e, AJ_ENOTFOUND, 0, "sandbox '%.40s' not found",
				  id ? id : "");
	const char *dot = token ? strrchr(token, '.') : NULL;
	char key_id[KEY_ID_LEN + 1], want[MAC_HEX + 1];
	bool ok = dot && (size_t)(dot - token) <= KEY_ID_LEN && dot > token &&
		  strlen(dot + 1) == MAC_HEX;
	if (ok) {
		memcpy(key_id, token, (size_t)(dot - token));
		key_id[dot - token] = '\0';
		token_mac(sb, kind, key_id, want);
		ok = aj_ct_equal(dot + 1, want, MAC_HEX);
	}
	struct box_caller who;
	int rc;
	if (!ok || !grant_of(sb, key_id, &who))
		rc = aj_err_set(e, AJ_EAUTH, 0,
				"wrong or missing access token for sandbox '%.40s'", id);
	else
		rc = key_now(m, sb, &who, e);
	sb_unref(sb);
	if (rc == 0)
		*out = who;
	return rc;
}
