//go:build !unix

package sandbox

type cgroups struct{}

func newCgroups(string) (*cgroups, string) { return nil, "cgroups need Linux" }

func (*cgroups) describe() string                              { return "" }
func (*cgroups) create(string, int64, int64) ([]string, error) { return nil, nil }
func (*cgroups) remove(string) int                             { return 0 }
func (*cgroups) sweep() int                                    { return 0 }
