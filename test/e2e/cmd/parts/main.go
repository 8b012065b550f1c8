// Command parts builds (or finds in the cache) the real parts the
// end-to-end tests run, one after another, and prints their paths.
package main

import (
	"fmt"
	"os"

	"github.com/vaultcmp/vaultcmp/test/e2e"
)

func main() {
	bins, err := e2e.AllParts()
	for _, b := range bins {
		fmt.Println(b)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
