package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Unavailable reports whether err means the database could not be used,
// as opposed to a fault of the work (a constraint violated, a bad
// statement): a lost or refused connection, a timeout, a file the process
// may not write, a full disk, or whatever the backend's driver says so
// (see [Config.Unavailable]). The loop waits and retries such a failure as
// long as it lasts rather than giving up on the message.
func (db *DB) Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if db.unavailable != nil && db.unavailable(err) {
		return true
	}
	return unavailable(err)
}

// unavailable is the backend-independent part of [DB.Unavailable]: the
// errors of database/sql, the network and the file system that say the
// database could not be used.
func unavailable(err error) bool {
	var ne net.Error
	switch {
	case err == nil:
		return false
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EFBIG),
		errors.Is(err, syscall.EROFS), errors.Is(err, os.ErrPermission),
		errors.As(err, &ne):
		return true
	}
	return false
}
