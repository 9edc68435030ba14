package admin

import "github.com/flexauth/flexauth/store"

// EventFunc builds the audit event of a change made by whoever the caller
// serves (an API key, a console session, the command line): the caller
// knows the actor and the request, admin knows what happened.
type EventFunc func(typ, system, authid string, detail map[string]any) store.AuditEvent
