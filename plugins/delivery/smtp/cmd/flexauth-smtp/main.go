// Command flexauth-smtp is the SMTP delivery plugin as a standalone
// executable. flexauth launches it as a child process; started by hand it
// only prints a notice.
package main

import (
	"github.com/flexauth/flexauth/plugins/delivery/smtp"
	"github.com/flexauth/flexauth/plugins/sdk"
)

func main() {
	m := smtp.New()
	sdk.ServeDelivery(m)
	// The host has stopped the plugin: say QUIT on the idle connections.
	m.Close()
}
