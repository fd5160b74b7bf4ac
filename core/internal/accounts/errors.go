package accounts

import (
	"errors"
	"fmt"

	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// classified is an error that matches a server sentinel while reading as
// its cause alone: the server prefixes what was attempted and, for
// ErrInvalid, shows the text to the client, so it must stay free of
// sentinel noise ("invalid argument: invalid argument").
type classified struct {
	sentinel error
	cause    error
}

func (e *classified) Error() string   { return e.cause.Error() }
func (e *classified) Unwrap() []error { return []error{e.sentinel, e.cause} }

// classify wraps cause so that errors.Is(err, sentinel) holds.
func classify(sentinel, cause error) error { return &classified{sentinel: sentinel, cause: cause} }

// invalid is a validation failure shown to the caller.
func invalid(format string, args ...any) error {
	return classify(server.ErrInvalid, fmt.Errorf(format, args...))
}

// storeErr maps a store error onto the server's sentinels. Errors the
// store does not classify (a lost connection, a bug) pass through wrapped
// and become a 500 with the request id.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return classify(server.ErrNotFound, err)
	case errors.Is(err, store.ErrConflict):
		return classify(server.ErrConflict, err)
	case errors.Is(err, store.ErrInvalidArgument):
		return classify(server.ErrInvalid, err)
	case errors.Is(err, store.ErrInsufficientCredits):
		return classify(server.ErrInsufficientCredits, err)
	}
	return err
}
