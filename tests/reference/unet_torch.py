"""fergen's DDPM UNet written in PyTorch, layer for layer, with the same parameter names.

It is the independent reference of models/unet.hpp: tests/reference/unet_reference.py compares fergen's forward
and backward with it, and benchmarks/torch_unet.py times it as the benchmark's peer. The layout is
guided-diffusion's (input_blocks / middle_block / output_blocks, ResBlock with in_layers, emb_layers,
out_layers, skip_connection; AttentionBlock with norm, qkv, proj_out), written here without its optional
extras (scale-shift norm, up/down-sampling residual blocks, new-order heads)."""
import math

import torch
from torch import nn


def timestep_embedding(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float64) / half)
    args = t.to(torch.float64)[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb, groups, dropout):
        super().__init__()
        self.in_layers = nn.Sequential(nn.GroupNorm(groups, cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb, cout))
        self.out_layers = nn.Sequential(nn.GroupNorm(groups, cout), nn.SiLU(), nn.Dropout(dropout),
                                        nn.Conv2d(cout, cout, 3, padding=1))
        self.skip_connection = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x, emb):
        h = self.in_layers(x)
        h = h + self.emb_layers(emb)[:, :, None, None]
        h = self.out_layers(h)
        return self.skip_connection(x) + h


class AttentionBlock(nn.Module):
    def __init__(self, channels, heads, groups):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        d = c // self.heads
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, d, h * w).unbind(1)
        weights = torch.softmax(torch.einsum("bhct,bhcs->bhts", q, k) / math.sqrt(d), dim=-1)
        a = torch.einsum("bhts,bhcs->bhct", weights, v).reshape(b, c, h, w)
        return x + self.proj_out(a)


class Downsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(nn.functional.interpolate(x, scale_factor=2, mode="nearest"))


class EmbedSequential(nn.Sequential):
    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class UNet(nn.Module):
    def __init__(self, image_channels=1, image_size=48, base_channels=64, channel_mult=(1, 2, 2), res_blocks=2,
                 attention_resolutions=(), middle_attention=False, heads=1, groups=8, dropout=0.0, classes=0,
                 null_class=True):
        super().__init__()
        emb = 4 * base_channels
        self.base_channels = base_channels
        self.time_embed = nn.Sequential(nn.Linear(base_channels, emb), nn.SiLU(), nn.Linear(emb, emb))
        if classes:
            self.label_emb = nn.Embedding(classes + (1 if null_class else 0), emb)

        def attention_at(level):
            return (image_size >> level) in attention_resolutions

        ch = base_channels * channel_mult[0]
        skips = [ch]
        self.input_blocks = nn.ModuleList([EmbedSequential(nn.Conv2d(image_channels, ch, 3, padding=1))])
        for level, mult in enumerate(channel_mult):
            for _ in range(res_blocks):
                layers = [ResBlock(ch, base_channels * mult, emb, groups, dropout)]
                ch = base_channels * mult
                if attention_at(level):
                    layers.append(AttentionBlock(ch, heads, groups))
                self.input_blocks.append(EmbedSequential(*layers))
                skips.append(ch)
            if level + 1 < len(channel_mult):
                self.input_blocks.append(EmbedSequential(Downsample(ch)))
                skips.append(ch)
        middle = [ResBlock(ch, ch, emb, groups, dropout)]
        if middle_attention:
            middle.append(AttentionBlock(ch, heads, groups))
        middle.append(ResBlock(ch, ch, emb, groups, dropout))
        self.middle_block = EmbedSequential(*middle)
        self.output_blocks = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mult))):
            for i in range(res_blocks + 1):
                layers = [ResBlock(ch + skips.pop(), base_channels * mult, emb, groups, dropout)]
                ch = base_channels * mult
                if attention_at(level):
                    layers.append(AttentionBlock(ch, heads, groups))
                if level and i == res_blocks:
                    layers.append(Upsample(ch))
                self.output_blocks.append(EmbedSequential(*layers))
        self.out = nn.Sequential(nn.GroupNorm(groups, ch), nn.SiLU(), nn.Conv2d(ch, image_channels, 3, padding=1))

    def forward(self, x, t, y=None):
        emb = self.time_embed(timestep_embedding(t, self.base_channels).to(x.dtype))
        if y is not None:
            emb = emb + self.label_emb(y)
        hs, h = [], x
        for block in self.input_blocks:
            h = block(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)
