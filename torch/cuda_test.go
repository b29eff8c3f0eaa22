package torch

import (
	"errors"
	"os"
	"testing"
)

// cudaOrSkip skips GPU tests on CPU machines, unless TG_REQUIRE_CUDA=1 (set by make for a CUDA shim), where a
// missing GPU is a failure.
func cudaOrSkip(t *testing.T) Device {
	t.Helper()
	if !CUDAAvailable() {
		if os.Getenv("TG_REQUIRE_CUDA") == "1" {
			t.Fatalf("TG_REQUIRE_CUDA=1 but CUDA is not usable (HasCUDALib=%v): was the shim linked with --no-as-needed?", HasCUDALib())
		}
		t.Skip("no CUDA device")
	}
	return CUDA(0)
}

func TestCUDALoads(t *testing.T) {
	defer LockThread()()
	dev := cudaOrSkip(t)
	if !HasCUDALib() || CUDADeviceCount() < 1 {
		t.Fatalf("HasCUDALib=%v devices=%d", HasCUDALib(), CUDADeviceCount())
	}
	WithScope(func() {
		x := FromSlice([]float32{1, 2, 3}).ToDevice(dev)
		if x.Device() != dev {
			t.Fatalf("tensor on %v", x.Device())
		}
		if v := x.MulScalar(2).Sum().Item(); v != 12 {
			t.Fatalf("sum on GPU = %v", v)
		}
	})
	if _, err := CUDAMemory(dev); err != nil {
		t.Logf("allocator statistics unavailable: %v", err)
	}
}

func TestCUDAAutocastNarrowsToBF16(t *testing.T) {
	defer LockThread()()
	dev := cudaOrSkip(t)
	WithScope(func() {
		x := Randn(nil, Float32, dev, 2, 3, 8, 8)
		w := Randn(nil, Float32, dev, 4, 3, 3, 3)
		a := Randn(nil, Float32, dev, 8, 8)
		Autocast(dev, BFloat16, func() {
			if dt := Conv2d(x, w, nil, Conv2dOpts{}).DType(); dt != BFloat16 {
				t.Errorf("autocast conv2d gave %v", dt)
			}
			if dt := a.MatMul(a).DType(); dt != BFloat16 {
				t.Errorf("autocast matmul gave %v", dt)
			}
		})
		if dt := a.MatMul(a).DType(); dt != Float32 {
			t.Errorf("after autocast, matmul gave %v", dt)
		}
	})
}

func TestCUDAChannelsLastPropagates(t *testing.T) {
	defer LockThread()()
	dev := cudaOrSkip(t)
	WithScope(func() {
		x := Randn(nil, Float32, dev, 2, 8, 16, 16).ChannelsLast()
		w := Randn(nil, Float32, dev, 8, 8, 3, 3).ChannelsLast()
		y := Conv2d(x, w, nil, Conv2dOpts{Padding: [2]int64{1, 1}})
		if !y.IsChannelsLast() {
			t.Fatal("conv2d output lost channels_last")
		}
		rm, rv := Zeros(Float32, dev, 8), Ones(Float32, dev, 8)
		if z := BatchNorm(y, nil, nil, rm, rv, true, 0.1, 1e-5); !z.IsChannelsLast() {
			t.Fatal("batch_norm output lost channels_last")
		}
	})
}

func TestCUDAOOMIsTyped(t *testing.T) {
	defer LockThread()()
	dev := cudaOrSkip(t)
	err := Catch(func() { Zeros(Float32, dev, 1<<40) }) // 4 TiB
	var te *Error
	if !errors.As(err, &te) || te.Kind != ErrOOM {
		t.Fatalf("huge allocation gave %v, want ErrOOM", err)
	}
	WithScope(func() { Ones(Float32, dev, 4).Sum().Item() }) // the device still works
}

func TestCheckCUDASyncs(t *testing.T) {
	defer LockThread()()
	if !CUDAAvailable() {
		if err := CheckCUDASyncs(true); err == nil && !HasCUDALib() {
			t.Fatal("CheckCUDASyncs succeeded on a CPU shim")
		}
	}
	dev := cudaOrSkip(t)
	if err := CheckCUDASyncs(true); err != nil {
		t.Fatal(err)
	}
	defer CheckCUDASyncs(false)
	WithScope(func() {
		x := Ones(Float32, dev, 1000).MulScalar(2).Sum() // stays on the device: no synchronisation
		var ee *Error
		if err := Catch(func() { x.Item() }); !errors.As(err, &ee) {
			t.Fatalf("reading a CUDA value with the check on: %v, want *Error", err)
		}
		if err := Catch(func() { FromSlice([]float32{1}).ToDevice(dev) }); err == nil {
			t.Fatal("a blocking host-to-device copy passed the check")
		}
	})
	if err := CheckCUDASyncs(false); err != nil {
		t.Fatal(err)
	}
	if v := Scoped(func() *Tensor { return Ones(Float32, dev, 3).Sum() }).Item(); v != 3 {
		t.Fatalf("after the check: %v", v)
	}
}
