package flexauth.risk

decision := {
	"allow": allow,
	"method": input.subject.assigned_method,
	"ttl_seconds": 120,
	"max_attempts": 3,
	"reasons": reasons,
	"risk": "high",
}

default allow := false

allow if input.system.name != "vpn"

reasons := ["vpn is closed by the uploaded policy"] if {
	not allow
} else := ["allowed by the uploaded policy"]
