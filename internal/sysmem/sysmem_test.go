package sysmem

import (
	"strings"
	"testing"
)

func TestCPU(t *testing.T) {
	free, err := CPU()
	if err != nil || free < 1<<20 || free > 1<<50 {
		t.Fatalf("CPU() = %d, %v", free, err)
	}
}

func TestCUDAIndexBeyondVisibleDevices(t *testing.T) {
	t.Setenv("CUDA_VISIBLE_DEVICES", "3")
	if _, err := CUDA(1); err == nil || !strings.Contains(err.Error(), "has 1 device") {
		t.Fatalf("cuda:1 with one visible device: %v", err)
	}
}
