package pipeline

// The state machine tells these apart by their type names: a Retry on
// "RetryableError" tries again with backoff, while "TerminalError" goes
// straight to the Catch that records the failure. (Lambda reports a Go
// error's type name, without the pointer and package, as its errorType.)

// RetryableError is a failure that may pass: the backend answered 5xx or
// not at all.
type RetryableError struct{ Msg string }

func (e *RetryableError) Error() string { return e.Msg }

// TerminalError is a failure that will not pass by trying again: the
// backend refused the request (4xx).
type TerminalError struct{ Msg string }

func (e *TerminalError) Error() string { return e.Msg }
