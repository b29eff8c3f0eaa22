#!/usr/bin/env python3
"""What a user would run instead of semcom: semcom's two training steps written in PyTorch, with the same
models (two ResNet-18 encoders, RGB and depth, heads to K features, an MLP server decoder), losses (the
proposed decoupled loss for pre-training; AWGN channel + cross-entropy for fine-tuning), optimiser (SGD,
momentum 0.9, weight decay 1e-4) and shapes as `semcom bench`.

Variants:
  reference  fp32, eager, a DataLoader with per-sample augmentation on the CPU, as the DeCUR and the
             paper authors' code do
  tuned      the data held on the device as uint8 NHWC, batched augmentation on the device, bf16 autocast
             (CUDA) and channels_last (CUDA)

Prints one JSON object per step and variant: ms/step (median over repeats), samples/s, peak memory.
"""
import argparse
import json
import math
import os
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_step import ResNet18 as _ResNet18Classifier  # the same network as the CPU train-step benchmark


class Encoder(nn.Module):
    def __init__(self, in_ch, width, k):
        super().__init__()
        net = _ResNet18Classifier(width, 10)
        if in_ch != 3:
            net.conv1 = nn.Conv2d(in_ch, width, 7, 2, 3, bias=False)
        net.fc = nn.Identity()
        self.trunk, self.head = net, nn.Linear(8 * width, k)

    def forward(self, x):
        return self.head(self.trunk(x))


def corr(a, b):
    a = a - a.mean(0)
    b = b - b.mean(0)
    a = a / (a.norm(dim=0) + 1e-8)
    b = b / (b.norm(dim=0) + 1e-8)
    return a.T @ b


def offdiag_sq(c):
    return (c ** 2).sum() - (torch.diagonal(c) ** 2).sum()


def proposed_loss(views, k_sha, lam=0.0051):
    """Eqs. (7)-(14): intra-modal Barlow Twins per modality + shared/unique blocks over ordered pairs."""
    loss = 0
    for z1, z2 in views:
        c = corr(z1, z2)
        loss = loss + ((1 - torch.diagonal(c)) ** 2).sum() + lam * offdiag_sq(c)
    for m in range(len(views)):
        for n in range(len(views)):
            if m != n:
                c = corr(views[m][0], views[n][0])
                s, u = c[:k_sha, :k_sha], c[k_sha:, k_sha:]
                loss = loss + ((1 - torch.diagonal(s)) ** 2).sum() + lam * offdiag_sq(s)
                loss = loss + (torch.diagonal(u) ** 2).sum() + lam * offdiag_sq(u)
    return loss


def channel(z, snr_db):
    """Per-sample power normalisation to unit energy per complex symbol, then AWGN."""
    p = 2 * (z ** 2).mean(1, keepdim=True)
    x = z / torch.sqrt(p + 1e-12)
    return x + torch.randn_like(x) * math.sqrt(10 ** (-snr_db / 10) / 2)


def batched_augment(x, size, scale, flip=0.5, jitter=0.0, gray=0.0):
    """Random resized crop + flip through one affine grid; colour jitter and grayscale per sample."""
    b, c = x.shape[:2]
    dev = x.device
    area = torch.empty(b, device=dev).uniform_(*scale)
    ratio = torch.empty(b, device=dev).uniform_(math.log(3 / 4), math.log(4 / 3)).exp()
    w, h = (area * ratio).sqrt().clamp(max=1), (area / ratio).sqrt().clamp(max=1)
    cx = torch.empty(b, device=dev).uniform_(-1, 1) * (1 - w)
    cy = torch.empty(b, device=dev).uniform_(-1, 1) * (1 - h)
    sx = w * torch.where(torch.rand(b, device=dev) < flip, -1.0, 1.0)
    z = torch.zeros_like(w)
    theta = torch.stack([sx, z, cx, z, h, cy], 1).view(b, 2, 3)
    grid = F.affine_grid(theta, [b, c, size, size], align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    if c == 3 and jitter > 0:
        f = torch.empty(b, 1, 1, 1, device=dev).uniform_(0.6, 1.4)
        j = (x * f).clamp(0, 1)
        x = torch.where(torch.rand(b, 1, 1, 1, device=dev) < jitter, j, x)
    if c == 3 and gray > 0:
        g = (x * torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 3, 1, 1)).sum(1, keepdim=True)
        x = torch.where(torch.rand(b, 1, 1, 1, device=dev) < gray, g.expand_as(x), x)
    return x


def sample_augment(img, size, scale, flip=0.5, jitter=0.0, gray=0.0):
    """The same transforms for one CPU image (C,H,W) in [0,1], as a per-sample DataLoader pipeline does."""
    return batched_augment(img.unsqueeze(0), size, scale, flip, jitter, gray).squeeze(0)


class Pairs(torch.utils.data.Dataset):
    def __init__(self, rgb, depth, labels, size, pretrain):
        self.rgb, self.depth, self.labels, self.size, self.pretrain = rgb, depth, labels, size, pretrain

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        r = self.rgb[i].permute(2, 0, 1).float() / 255
        d = self.depth[i].permute(2, 0, 1).float() / 255
        if self.pretrain:
            views = [sample_augment(r, self.size, (0.5, 1), jitter=0.8, gray=0.2) for _ in range(2)]
            views += [sample_augment(d, self.size, (0.5, 1)) for _ in range(2)]
            return views + [self.labels[i]]
        return [sample_augment(r, self.size, (0.8, 1)), sample_augment(d, self.size, (0.8, 1)), self.labels[i]]


def run(args, step, variant):
    dev = torch.device(args.device)
    torch.manual_seed(0)
    n = max(4 * args.batch, 64)
    rgb = torch.randint(0, 256, (n, args.size, args.size, 3), dtype=torch.uint8)
    depth = torch.randint(0, 256, (n, args.size, args.size, 1), dtype=torch.uint8)
    labels = torch.randint(0, 10, (n,))
    k = 64
    encs = nn.ModuleList([Encoder(3, args.width, k), Encoder(1, args.width, k)]).to(dev)
    dec = nn.Sequential(nn.Linear(2 * k, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 10)).to(dev)
    tuned = variant == "tuned"
    cuda = dev.type == "cuda"
    if tuned and cuda:
        torch.backends.cudnn.benchmark = True
        encs = encs.to(memory_format=torch.channels_last)
    params = list(encs.parameters()) + (list(dec.parameters()) if step == "finetune" else [])
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
    amp = tuned and cuda

    def encode(enc, x):
        if tuned and cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp):
            z = enc(x)
        return z.float()

    def compute(batch):
        if step == "pretrain":
            r1, r2, d1, d2 = batch[:4]
            views = [(encode(encs[0], r1), encode(encs[0], r2)), (encode(encs[1], d1), encode(encs[1], d2))]
            return proposed_loss(views, int(0.75 * k))
        r, d, y = batch
        zs = [channel(encode(encs[0], r), 10), channel(encode(encs[1], d), 10)]
        return F.cross_entropy(dec(torch.cat(zs, 1)), y)

    if tuned:
        rgb_d, depth_d, labels_d = rgb.to(dev), depth.to(dev), labels.to(dev)

        def batches():
            while True:
                idx = torch.randint(0, n, (args.batch,), device=dev)
                r = rgb_d[idx].permute(0, 3, 1, 2).float() / 255
                d = depth_d[idx].permute(0, 3, 1, 2).float() / 255
                if step == "pretrain":
                    yield [batched_augment(r, args.size, (0.5, 1), jitter=0.8, gray=0.2), batched_augment(r, args.size, (0.5, 1), jitter=0.8, gray=0.2),
                           batched_augment(d, args.size, (0.5, 1)), batched_augment(d, args.size, (0.5, 1))]
                else:
                    yield [batched_augment(r, args.size, (0.8, 1)), batched_augment(d, args.size, (0.8, 1)), labels_d[idx]]
    else:
        loader = torch.utils.data.DataLoader(Pairs(rgb, depth, labels, args.size, step == "pretrain"), batch_size=args.batch,
                                             shuffle=True, drop_last=True, num_workers=args.workers, pin_memory=cuda,
                                             persistent_workers=args.workers > 0)

        def batches():
            while True:
                for b in loader:
                    yield [t.to(dev, non_blocking=True) for t in b]

    it = batches()
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    def one():
        loss = compute(next(it))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        one()
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    reps = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            one()
        sync()
        reps.append((time.perf_counter() - t0) / args.steps * 1e3)
    ms = statistics.median(reps)
    peak = torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"impl": "pytorch-" + variant, "torch": torch.__version__, "step": step, "device": str(dev),
                      "batch": args.batch, "size": args.size, "width": args.width, "ms_per_step": round(ms, 3),
                      "samples_per_s": round(args.batch / ms * 1e3, 1), "repeats_ms": [round(r, 3) for r in reps],
                      "peak_bytes": peak}), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--variant", choices=["reference", "tuned", "both"], default="both")
    p.add_argument("--step", choices=["pretrain", "finetune", "both"], default="both")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())))
    for s in (["pretrain", "finetune"] if a.step == "both" else [a.step]):
        for v in (["reference", "tuned"] if a.variant == "both" else [a.variant]):
            run(a, s, v)
