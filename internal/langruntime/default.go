package langruntime

import (
	_ "embed"
	"fmt"
)

//go:embed default_catalog.json
var defaultCatalog []byte

// DefaultJSON returns the built-in catalog as the JSON value of the
// runtime-images key, as shipped in the kubeless-config ConfigMap. The
// caller may modify the returned slice.
func DefaultJSON() []byte {
	return append([]byte(nil), defaultCatalog...)
}

// Default returns the built-in catalog: python3.9-3.13, nodejs18/20/22,
// ruby3.0-3.3, php8.1-8.3 and go1.26, with the images of
// docker/runtime/<lang>/Dockerfile.<version>[.init]. Each call returns a new
// value that the caller may modify.
func Default() *Catalog {
	c, err := Parse(defaultCatalog)
	if err != nil {
		// The embedded file is checked by TestDefault.
		panic(fmt.Sprintf("built-in runtime catalog: %v", err))
	}
	return c
}
