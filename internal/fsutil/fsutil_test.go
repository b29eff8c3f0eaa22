package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileReplacesLinksAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere.txt")
	os.WriteFile(target, []byte("untouched"), 0o644)
	link := filepath.Join(dir, "summary.json")
	os.Symlink(target, link)
	if err := WriteFile(link, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "untouched" {
		t.Fatal("the link's target was overwritten")
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink != 0 {
		t.Fatal("the link is still a link")
	}
	if b, _ := os.ReadFile(link); string(b) != "new" {
		t.Fatalf("content %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestCleanTemp(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "a", "checkpoints", "ckpt-000002.tmp-77"), 0o755)
	os.WriteFile(filepath.Join(root, "a", "checkpoints", "ckpt-000002.tmp-77", "state.safetensors"), nil, 0o644)
	os.WriteFile(filepath.Join(root, "a", "metrics.csv.tmp-1"), nil, 0o644)
	os.WriteFile(filepath.Join(root, "a", "checkpoint.json.tmp"), nil, 0o644) // older semcom's name
	os.WriteFile(filepath.Join(root, "a", "metrics.csv"), []byte("keep"), 0o644)
	removed, err := CleanTemp(root)
	if err != nil || len(removed) != 3 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "metrics.csv")); err != nil {
		t.Fatal("a real file was removed")
	}
}

func TestFaultDoesNothingUnlessAsked(t *testing.T) {
	t.Setenv(KillAtEnv, "other:1")
	Fault("checkpoint") // would kill the test binary if it fired
	t.Setenv(KillAtEnv, "")
	Fault("checkpoint")
}
