package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestReadmePathsExist: every configs/… and grids/… file the README names exists, so its examples run as
// written.
func TestReadmePathsExist(t *testing.T) {
	root := filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	paths := regexp.MustCompile(`\b(?:configs|grids)/[A-Za-z0-9_./-]+\.yaml\b`).FindAllString(string(b), -1)
	if len(paths) < 3 {
		t.Fatalf("the README names only %d config or grid files: the pattern is wrong", len(paths))
	}
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("README names %s: %v", p, err)
		}
	}
}
