package api

import "time"

// SetClock replaces the server's clock, so that tests can move past
// session timeouts. Call it before the server handles requests.
func SetClock(s *Server, now func() time.Time) { s.now = now }
