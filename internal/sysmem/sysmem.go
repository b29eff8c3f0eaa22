// Package sysmem says how much memory a device has free: the kernel's MemAvailable for the CPU, and
// nvidia-smi's free memory for a CUDA device (the one CUDA_VISIBLE_DEVICES maps the index to).
package sysmem

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// CPU returns the bytes the kernel reports as available for new allocations without swapping.
func CPU() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/meminfo: no MemAvailable line")
}

// CUDA returns the free bytes of CUDA device index (as the process sees it) from nvidia-smi.
func CUDA(index int) (int64, error) {
	id := strconv.Itoa(index)
	if vis := os.Getenv("CUDA_VISIBLE_DEVICES"); vis != "" {
		ids := strings.Split(vis, ",")
		if index >= len(ids) {
			return 0, fmt.Errorf("cuda:%d: CUDA_VISIBLE_DEVICES=%s has %d device(s)", index, vis, len(ids))
		}
		id = strings.TrimSpace(ids[index])
	}
	out, err := exec.Command("nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits", "-i", id).Output()
	if err != nil {
		return 0, fmt.Errorf("nvidia-smi: %w", err)
	}
	mib, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("nvidia-smi printed %q", strings.TrimSpace(string(out)))
	}
	return mib << 20, nil
}

// GiB formats bytes for messages.
func GiB(b int64) string { return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30)) }
