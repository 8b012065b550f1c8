package contract

// Owner is AnnotationOwner's value: the kind and name of the object a Secret
// was rendered from, "Kind/name" (its namespace is the Secret's).
func Owner(kind, name string) string { return kind + "/" + name }
