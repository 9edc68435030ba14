package host

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinExecutable makes cmd run exactly the bytes whose checksum spec pins.
// Checking the file's path and then running the path (as go-plugin's
// SecureConfig does) leaves a moment in which someone who can write the
// plugin's folder can rename another binary over it: the checked file is
// not the one run. Here the verified bytes are copied into a sealed
// anonymous memory file (memfd), handed to the child as an inherited
// descriptor and executed through /dev/fd: nothing on disk is read again.
// The descriptor stays open in the plugin (an interpreter reads a script
// through it). The returned function closes the host's copy once the
// process has started.
func pinExecutable(spec Spec, cmd *exec.Cmd) (func(), error) {
	raw, err := verifyExecutable(spec, cmd)
	if err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate("flexauth-plugin-"+spec.Name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("launch %s: copy it into memory: %w", spec.Command[0], err)
	}
	f := os.NewFile(uintptr(fd), "flexauth-plugin-"+spec.Name)
	if _, err := f.Write(raw); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("launch %s: copy it into memory: %w", spec.Command[0], err)
	}
	// Sealed: not even this process can change the copy any more.
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("launch %s: seal its copy: %w", spec.Command[0], err)
	}
	// The child's descriptor 3 + its index in ExtraFiles; the arguments
	// keep the configured path as the program's name.
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	cmd.Path = "/dev/fd/" + strconv.Itoa(2+len(cmd.ExtraFiles))
	return func() { _ = f.Close() }, nil
}
