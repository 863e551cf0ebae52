package local

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// stateDir is the folder for the local server's state: dir, or by default
// the data folder's name with ".state", beside it. It must lie outside the
// data folder, which the S3 endpoint serves whole. State that an older
// clipmill kept inside the data folder, in .clipmill/, moves there.
func stateDir(data, dir string, log *slog.Logger) (string, error) {
	data, err := filepath.Abs(data)
	if err != nil {
		return "", fmt.Errorf("data folder: %w", err)
	}
	if dir == "" {
		dir = data + ".state"
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", fmt.Errorf("state folder: %w", err)
	}
	if rel, err := filepath.Rel(data, dir); err == nil && (rel == "." || filepath.IsLocal(rel)) {
		return "", fmt.Errorf("state folder %s: it must lie outside the data folder %s, which the S3 endpoint serves", dir, data)
	}
	old := filepath.Join(data, ".clipmill")
	if _, err := os.Stat(old); err == nil {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			if err := os.Rename(old, dir); err != nil {
				return "", fmt.Errorf("move the state out of the data folder: %w", err)
			}
			log.Info("moved the state out of the data folder", "from", old, "to", dir)
		} else {
			// Both: the old one would be served, keys and all.
			return "", fmt.Errorf("%s is the state of an older clipmill, inside the folder the S3 endpoint serves, and %s exists too: move or delete one", old, dir)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("state folder: %w", err)
	}
	return dir, nil
}
