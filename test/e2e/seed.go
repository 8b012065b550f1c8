package e2e

import (
	"context"
	"fmt"
)

// DemoData is what the seed document's webapp reads from secret/webapp/config.
var DemoData = map[string]any{
	"db_user":      "webapp",
	"db_pass":      "demo-db-password",
	"db_host":      "postgres.webapp-ns.svc",
	"redis_pass":   "demo-redis-password",
	"internal_key": "demo-internal-key",
}

// SeedDemo writes DemoData to the KV v2 engine at secret/.
func SeedDemo(ctx context.Context, v *VaultServer) error {
	if _, err := v.Client.KVv2("secret").Put(ctx, "webapp/config", DemoData); err != nil {
		return fmt.Errorf("seeding secret/webapp/config: %w", err)
	}
	return nil
}
