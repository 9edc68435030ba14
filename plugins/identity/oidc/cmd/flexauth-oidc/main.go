// Command flexauth-oidc is the OpenID Connect sign-in plugin as a
// standalone executable. Configure it in flexauth with "kind": "identity".
package main

import (
	"github.com/flexauth/flexauth/plugins/identity/oidc"
	"github.com/flexauth/flexauth/plugins/sdk"
)

func main() { sdk.ServeIdentity(oidc.New()) }
