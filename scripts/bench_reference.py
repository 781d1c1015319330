#!/usr/bin/python3
"""PyTorch (Python) reference for `qkv bench`: the same GPT and training step, configured from the
same experiment file, timed the same way, printing one JSON line with the same field names.

Usage: bench_reference.py EXPERIMENT.yaml --synthetic V [--steps N] [--warmup W] [--set key=value ...]

The model mirrors qkv's gpt family: token embedding, position scheme (none, sinusoidal, learned,
shaw, t5, rope, alibi), pre- or post-norm blocks of fused-qkv attention and a feed-forward
(relu, gelu or swiglu), LayerNorm or RMSNorm, tied LM head; AdamW with decay on matrices only,
gradient clipping, bf16 autocast when the experiment's precision resolves to bf16.
Uses Debian's python3-torch and python3-yaml.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml


def cpu_has_bf16():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return " avx512_bf16" in line or " amx_bf16" in line
    return False


def apply_overrides(config, sets):
    for item in sets:
        key, value = item.split("=", 1)
        node = config
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(value)


class Norm(nn.Module):
    def __init__(self, dim, kind, bias):
        super().__init__()
        self.kind = kind
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if kind == "layernorm" and bias else None

    def forward(self, x):
        if self.kind == "layernorm":
            return F.layer_norm(x, (x.size(-1),), self.weight, self.bias, 1e-5)
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5) * self.weight).to(x.dtype)


def t5_bucket(relative, buckets, max_distance):  # causal form
    n = (-relative).clamp(min=0)
    exact = buckets // 2
    large = exact + (torch.log(n.clamp(min=1).double() / exact) / math.log(max_distance / exact)
                     * (buckets - exact)).long()
    return torch.where(n < exact, n, large.clamp(max=buckets - 1))


def alibi_slopes(heads):
    def power_of_two(n):
        start = 2 ** (-8 / n)
        return [start ** (i + 1) for i in range(n)]
    closest = 2 ** int(math.log2(heads))
    slopes = power_of_two(closest)
    if closest < heads:
        slopes += power_of_two(2 * closest)[0::2][: heads - closest]
    return torch.tensor(slopes)


class Block(nn.Module):
    def __init__(self, m, position):
        super().__init__()
        c, bias = m["d_model"], m.get("bias", True)
        self.heads, self.pre = m["heads"], m.get("norm", "pre") == "pre"
        self.act = m.get("activation", "gelu")
        self.dropout = m.get("dropout", 0.1)
        self.qkv = nn.Linear(c, 3 * c, bias=bias)
        self.out = nn.Linear(c, c, bias=bias)
        self.up = nn.Linear(c, m["d_ff"], bias=bias)
        self.gate = nn.Linear(c, m["d_ff"], bias=bias) if self.act == "swiglu" else None
        self.down = nn.Linear(m["d_ff"], c, bias=bias)
        kind = m.get("norm_type", "layernorm")
        self.norm1, self.norm2 = Norm(c, kind, bias), Norm(c, kind, bias)
        self.position = position
        if position == "shaw":
            k = 2 * m["position"].get("clip", 16) + 1
            self.rel_keys = nn.Parameter(torch.randn(k, c // self.heads) * 0.02)
            self.rel_values = nn.Parameter(torch.randn(k, c // self.heads) * 0.02)

    def attention(self, x, signals):
        b, t, c = x.shape
        q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2) for z in self.qkv(x).chunk(3, -1))
        if "cos" in signals:
            q, k = rotate(q, signals["cos"], signals["sin"]), rotate(k, signals["cos"], signals["sin"])
        scores = q @ k.transpose(-2, -1)
        if self.position == "shaw":
            index = signals["rel_index"].expand(b, self.heads, t, t)
            scores = scores + (q @ self.rel_keys.to(q.dtype).t()).gather(-1, index)
        scores = scores / math.sqrt(q.size(-1))
        if "bias" in signals:
            scores = scores + signals["bias"]
        scores = scores.masked_fill(~signals["keep"], -1e30)
        probs = torch.softmax(scores, -1, dtype=torch.float32).to(v.dtype)
        probs = F.dropout(probs, self.dropout, self.training)
        out = probs @ v
        if self.position == "shaw":
            per_distance = torch.zeros(b, self.heads, t, self.rel_values.size(0), dtype=probs.dtype)
            per_distance.scatter_add_(-1, signals["rel_index"].expand_as(probs), probs)
            out = out + per_distance @ self.rel_values.to(probs.dtype)
        return self.out(out.transpose(1, 2).reshape(b, t, c))

    def feed_forward(self, x):
        h = self.up(x)
        h = F.silu(h) * self.gate(x) if self.act == "swiglu" else (F.relu(h) if self.act == "relu" else F.gelu(h))
        return self.down(h)

    def forward(self, x, signals):
        if self.pre:
            x = x + F.dropout(self.attention(self.norm1(x), signals), self.dropout, self.training)
            return x + F.dropout(self.feed_forward(self.norm2(x)), self.dropout, self.training)
        x = self.norm1(x + F.dropout(self.attention(x, signals), self.dropout, self.training))
        return self.norm2(x + F.dropout(self.feed_forward(x), self.dropout, self.training))


def rotate(x, cos, sin):
    half = cos.size(-1)
    x1, x2, rest = x[..., :half], x[..., half:2 * half], x[..., 2 * half:]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest], -1)


class Gpt(nn.Module):
    def __init__(self, m, vocab):
        super().__init__()
        self.m, c = m, m["d_model"]
        self.scheme = m["position"]["scheme"]
        self.embedding = nn.Embedding(vocab, c)
        if self.scheme == "learned":
            self.positions = nn.Embedding(m.get("max_len", 512), c)
        if self.scheme == "t5":
            self.t5 = nn.Embedding(m["position"].get("buckets", 32), m["heads"])
        self.blocks = nn.ModuleList(Block(m, self.scheme) for _ in range(m["layers"]))
        self.final = Norm(c, m.get("norm_type", "layernorm"), m.get("bias", True)) if m.get("norm", "pre") == "pre" else None
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, 0.02)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
        for block in self.blocks:
            for proj in (block.out, block.down):
                nn.init.normal_(proj.weight, 0.0, 0.02 / math.sqrt(2 * m["layers"]))

    def signals(self, t):
        i = torch.arange(t)
        signals = {"keep": (i[None, :] <= i[:, None])[None, None]}
        heads, head_dim = self.m["heads"], self.m["d_model"] // self.m["heads"]
        if self.scheme == "rope":
            half = int(head_dim * self.m["position"].get("fraction", 1.0)) // 2
            inv = self.m["position"].get("base", 10000.0) ** (-torch.arange(half, dtype=torch.float64) * 2 / (2 * half))
            angles = i[:, None].double() * inv[None]
            signals["cos"], signals["sin"] = angles.cos().float(), angles.sin().float()
        elif self.scheme == "alibi":
            signals["bias"] = -alibi_slopes(heads).view(1, -1, 1, 1) * (i[None, :] - i[:, None]).abs().float()
        elif self.scheme == "t5":
            p = self.m["position"]
            bucket = t5_bucket(i[None, :] - i[:, None], p.get("buckets", 32), p.get("max_distance", 128))
            signals["bias"] = self.t5(bucket).permute(2, 0, 1)[None].float()
        elif self.scheme == "shaw":
            clip = self.m["position"].get("clip", 16)
            signals["rel_index"] = (i[None, :] - i[:, None]).clamp(-clip, clip) + clip
        return signals

    def forward(self, tokens):
        b, t = tokens.shape
        x = self.embedding(tokens)
        if self.scheme == "learned":
            x = x + self.positions(torch.arange(t))
        elif self.scheme == "sinusoidal":
            pos = torch.arange(t, dtype=torch.float64)[:, None]
            two_i = torch.arange(0, x.size(-1), 2, dtype=torch.float64)
            angle = pos * torch.exp(two_i * (-math.log(10000.0) / x.size(-1)))
            table = torch.zeros(t, x.size(-1), dtype=torch.float64)
            table[:, 0::2], table[:, 1::2] = angle.sin(), angle.cos()[:, : x.size(-1) // 2]
            x = x + table.float()
        x = F.dropout(x, self.m.get("dropout", 0.1), self.training)
        signals = self.signals(t)
        for block in self.blocks:
            x = block(x, signals)
        if self.final is not None:
            x = self.final(x)
        return x @ self.embedding.weight.t()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("experiment")
    parser.add_argument("--synthetic", type=int, required=True, help="vocabulary of the random tokens")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()
    with open(args.experiment) as f:
        config = yaml.safe_load(f)
    apply_overrides(config, args.set)
    m, t = config["model"], config["train"]
    assert m["family"] == "gpt", "the reference implements the gpt family"
    threads = t.get("threads", 0) or len(__import__("os").sched_getaffinity(0))
    torch.set_num_threads(threads)
    precision = t.get("precision", "auto")
    if precision == "auto":
        precision = "bf16" if cpu_has_bf16() else "fp32"
    torch.manual_seed(config.get("seed", 1))

    model = Gpt(m, args.synthetic)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embedding" not in n and "positions" not in n
             and "t5" not in n and "rel_" not in n]
    no_decay = [p for n, p in model.named_parameters() if not any(p is q for q in decay)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": t.get("weight_decay", 0.1)},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=t.get("lr", 3e-4), betas=(t.get("beta1", 0.9), t.get("beta2", 0.95)))
    batch, seq = t.get("batch_size", 16), t.get("seq_len", 128)
    accumulate = t.get("accumulate", 1)
    micro = batch // accumulate
    generator = torch.Generator().manual_seed(1)
    times = []
    model.train()
    for step in range(args.warmup + args.steps):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        for _ in range(accumulate):
            blocks = torch.randint(args.synthetic, (micro, seq + 1), generator=generator)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                logits = model(blocks[:, :-1])
            loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), blocks[:, 1:].reshape(-1)) / accumulate
            loss.backward()
        if t.get("clip", 1.0) > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), t.get("clip", 1.0))
        optimizer.step()
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    step_s = statistics.median(times)
    print(json.dumps({
        "implementation": "pytorch-python",
        "experiment": config.get("name"),
        "precision": precision,
        "threads": threads,
        "position": m["position"]["scheme"],
        "parameters": sum(p.numel() for p in model.parameters()),
        "batch_tokens": batch * seq,
        "tokens_per_s": batch * seq / step_s,
        "step_ms": step_s * 1000,
        "step_ms_min": min(times) * 1000,
        "step_ms_max": max(times) * 1000,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
