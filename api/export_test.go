package api

import (
	"time"

	"github.com/gin-gonic/gin"
)

// SetClock replaces the server's clock, so that tests can move past
// session timeouts. Call it before the server handles requests.
func SetClock(s *Server, now func() time.Time) { s.now = now }

// WaitBackground waits until the console sign-in work the server runs
// after answering has finished. Call it while no request is being served.
func WaitBackground(s *Server) { s.bg.wg.Wait() }

// WaitForgotWork waits until the "Forgot password?" work the server runs
// after answering has finished.
func WaitForgotWork(s *Server) { s.forgotWork.wg.Wait() }

// Routes lists the routes the server's engine serves, as gin registered
// them (":param" placeholders).
func Routes(s *Server) []gin.RouteInfo { return s.engine.Routes() }
