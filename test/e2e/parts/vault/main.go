// Command vault is HashiCorp Vault's own CLI and server, built from its Go
// module so that the end-to-end tests can run a real `vault server -dev` on
// loopback. Nothing here is product code.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
