#!/usr/bin/env bash
# The Vault side of examples/webapp: Kubernetes auth at auth/kubernetes, the
# role webapp-role for the service account webapp-sa of namespace webapp-ns
# (tokens with audience "vault", as the VaultAuth asks), allowed to read
# secret/data/webapp/*. Idempotent. Run it as a Vault admin:
#
#   export VAULT_ADDR=https://vault.corp.com:8200 VAULT_TOKEN=<admin token>
#   KUBERNETES_HOST=https://203.0.113.10:6443 KUBERNETES_CA_CERT=ca.crt \
#     TOKEN_REVIEWER_JWT_FILE=reviewer.jwt examples/argocd/vault-setup.sh
#
# Vault checks each login with a TokenReview against KUBERNETES_HOST. Vault in
# the same cluster: KUBERNETES_HOST=https://kubernetes.default.svc, no CA or
# reviewer needed (Vault's own service account reviews; it needs the
# ClusterRole system:auth-delegator). Vault outside the cluster: a reviewer
# token is needed — the login tokens (audience "vault") cannot review
# themselves. For example:
#
#   kubectl -n kube-system create serviceaccount vault-token-reviewer
#   kubectl create clusterrolebinding vault-token-reviewer \
#     --clusterrole=system:auth-delegator --serviceaccount=kube-system:vault-token-reviewer
#   kubectl -n kube-system create token vault-token-reviewer --duration=8760h > reviewer.jwt
set -euo pipefail

: "${VAULT_ADDR:?set VAULT_ADDR (and VAULT_TOKEN) for a Vault admin}"
: "${KUBERNETES_HOST:?set KUBERNETES_HOST to the Kubernetes API URL as Vault reaches it}"
AUTH_MOUNT=${AUTH_MOUNT:-kubernetes}
KV_MOUNT=${KV_MOUNT:-secret}

# KV v2 at secret/ (a dev server has it already).
if ! vault secrets list -format=json | grep -q "\"${KV_MOUNT}/\""; then
  vault secrets enable -path="$KV_MOUNT" kv-v2
fi

if ! vault auth list -format=json | grep -q "\"${AUTH_MOUNT}/\""; then
  vault auth enable -path="$AUTH_MOUNT" kubernetes
fi

config=(kubernetes_host="$KUBERNETES_HOST")
if [[ -n "${KUBERNETES_CA_CERT:-}" ]]; then
  config+=(kubernetes_ca_cert=@"$KUBERNETES_CA_CERT")
fi
if [[ -n "${TOKEN_REVIEWER_JWT_FILE:-}" ]]; then
  # From a file: the token stays off the command line.
  config+=(token_reviewer_jwt=@"$TOKEN_REVIEWER_JWT_FILE")
fi
vault write "auth/${AUTH_MOUNT}/config" "${config[@]}"

# Read-only, and only the app's own paths. (The vaultcmp companion, for
# refreshAfter, also reads ${KV_MOUNT}/metadata/webapp/*; dynamic and PKI
# secrets need their own mounts' paths: database/creds/webapp-readonly,
# pki/issue/webapp-cert.)
vault policy write webapp - <<EOF
path "${KV_MOUNT}/data/webapp/*" {
  capabilities = ["read"]
}
EOF

vault write "auth/${AUTH_MOUNT}/role/webapp-role" \
  bound_service_account_names=webapp-sa \
  bound_service_account_namespaces=webapp-ns \
  audience=vault \
  token_policies=webapp \
  token_ttl=20m \
  token_max_ttl=1h

# A value to render, if you have none yet:
#   vault kv put secret/webapp/config username=webapp password=change-me
echo "Vault is ready for examples/webapp: role webapp-role at auth/${AUTH_MOUNT}, policy webapp."
