package engine

import (
	"io"
	"os"
	"path/filepath"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/kubeless/kubeless/internal/engine/api"
)

// The daemon's log (KUBELESS_HOME/engine.log) is rotated by size: past
// LogMaxMB megabytes it is renamed with a timestamp
// (engine-<time>.log) and a new one started; the LogBackups newest old
// files are kept.
const (
	LogMaxMB   = 10
	LogBackups = 3
)

// LogWriter returns where the daemon of home writes its log. When errOut is
// already that log file (the daemon was started by `kubeless local start`,
// which sends its output there), a writer that rotates the file is
// returned; otherwise errOut itself (a daemon run in a terminal).
func LogWriter(home string, errOut io.Writer) io.Writer {
	path := filepath.Join(home, api.LogName)
	f, ok := errOut.(*os.File)
	if !ok {
		return errOut
	}
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		return errOut
	}
	return newRotatingLog(path, LogMaxMB)
}

func newRotatingLog(path string, maxMB int) *lumberjack.Logger {
	return &lumberjack.Logger{Filename: path, MaxSize: maxMB, MaxBackups: LogBackups}
}
