package v1beta1

import "strings"

// ParseRef splits a VSO resource reference like VSO's common.ParseResourceRef:
// "ns/name" gives (ns, name); "name" gives (defaultNamespace, name). For the
// Vault*Secret kinds pass the consumer's own namespace as defaultNamespace.
//
// An empty ref gives (defaultNamespace, ""): VSO then uses the object named
// "default" in the operator's namespace; callers decide what that means for
// them. Validate rejects refs with more than one "/".
func ParseRef(ref, defaultNamespace string) (namespace, name string) {
	if ns, n, ok := strings.Cut(ref, "/"); ok {
		return ns, n
	}
	return defaultNamespace, ref
}
