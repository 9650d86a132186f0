/* e2b.h - the E2B-compatible API: what the official E2B SDKs call, served
 * by the same daemon as the native API (`agentjail serve`).
 *
 * Three services share one address, told apart by path (none of them
 * collides with /v1, /healthz or /metrics):
 *   - the control plane (/v2/sandboxes, /sandboxes/{id} ...), X-API-KEY;
 *   - envd, the in-sandbox API (Connect RPC under /process.Process and
 *     /filesystem.Filesystem, /files, /health), X-Access-Token;
 *   - the code interpreter (/execute, /contexts), E2B-Traffic-Access-Token.
 * The sandbox of an envd or interpreter request is named by its
 * E2b-Sandbox-Id header, and its token is checked against that sandbox.
 */
#ifndef AJ_E2B_E2B_H
#define AJ_E2B_E2B_H

#include "api/api.h"

/* The route table to put in api_config.mounts. */
extern const struct api_mount e2b_mount;

#endif
