// Command flexauth-directory is the directory identity plugin as a
// standalone executable. Configure it in flexauth with "kind": "identity".
package main

import (
	"github.com/flexauth/flexauth/plugins/identity/directory"
	"github.com/flexauth/flexauth/plugins/sdk"
)

func main() { sdk.ServeIdentity(directory.New()) }
