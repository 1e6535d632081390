// Command kubeless deploys and runs serverless functions.
package main

import (
	"os"

	"github.com/kubeless/kubeless/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
