package session

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// owner is the user who created a session. The daemon runs as root; a
// member of the tracing group gets the trace files as their own, as
// lttng's consumer writes them with the client's uid and gid.
type owner struct {
	set      bool
	uid, gid int
}

// peerCred reads the credentials of the process at the other end of c.
func peerCred(c net.Conn) owner {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return owner{}
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return owner{}
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return owner{}
	}
	return owner{set: true, uid: int(cred.Uid), gid: int(cred.Gid)}
}

// chownTree gives dir and everything under it to o (nothing for root).
func (o owner) chownTree(dir string) {
	if !o.set || o.uid == 0 {
		return
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Lchown(p, o.uid, o.gid)
		}
		return nil
	})
}
