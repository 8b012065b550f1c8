// Package names holds the one way vaultcmp writes an object's name in
// messages and errors: "namespace/name", or the name alone when the object
// has no namespace. It imports nothing of vaultcmp, so every package may use
// it (credentials, identity and the renderer do).
package names

// Qualified is name in namespace ns, "ns/name", or name alone when ns is "".
func Qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
