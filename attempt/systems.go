package attempt

// SecuritySystem is the reserved system of sign-ins to the security
// settings flexauth hosts for every user with email and password sign-in
// (api/security.go). No account has it (system names cannot hold "@",
// and the app API refuses it): the engine resolves it as
// admission.SecuritySettings, assigned method password to every user, so
// that these sign-ins run the same attempt, policy and lock-out as any
// other.
const SecuritySystem = "@security"

// ConsoleSystem is the built-in system whose users administer their
// account in the console. Its sign-ins need no key, so anyone can start
// them: they have limits of their own and never spend an application's.
const ConsoleSystem = "console"

// Anonymous reports whether system is one whose sign-ins anyone can start,
// without an application's key: the console's and the security settings'.
// Each has limits of its own, and neither spends an application's.
func Anonymous(system string) bool {
	return system == ConsoleSystem || system == SecuritySystem
}
