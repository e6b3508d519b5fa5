"""CAM++ speaker embedding (3D-Speaker, Apache-2.0) as a pyannote.audio ``Model``.

The network follows modelscope/3D-Speaker ``speakerlab/models/campplus`` so that the
published ``campplus_cn_en_common.pt`` state dict (192-d, 16 kHz, 80-bin Kaldi fbank)
loads unchanged. Wrapping it as a pyannote ``Model`` lets pyannote's own
``SpeakerDiarization`` pipeline call it, including the frame ``weights`` that pyannote
passes to embed one local speaker of a chunk (weighted statistics pooling).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from pyannote.audio import Model
from pyannote.audio.models.blocks.pooling import StatsPool

SAMPLE_RATE = 16_000
EMBEDDING_DIM = 192
NUM_MEL_BINS = 80


class _BasicResBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class _FCM(nn.Module):
    def __init__(self, m_channels: int = 32, feat_dim: int = NUM_MEL_BINS):
        super().__init__()
        self.conv1 = nn.Conv2d(1, m_channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        self.layer1 = nn.Sequential(_BasicResBlock(m_channels, m_channels, 2), _BasicResBlock(m_channels, m_channels, 1))
        self.layer2 = nn.Sequential(_BasicResBlock(m_channels, m_channels, 2), _BasicResBlock(m_channels, m_channels, 1))
        self.conv2 = nn.Conv2d(m_channels, m_channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(m_channels)
        self.out_channels = m_channels * (feat_dim // 8)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        out = self.layer2(self.layer1(out))
        out = F.relu(self.bn2(self.conv2(out)))
        b, c, f, t = out.shape
        return out.reshape(b, c * f, t)


def _bn_relu(channels: int) -> nn.Sequential:
    seq = nn.Sequential()
    seq.add_module("batchnorm", nn.BatchNorm1d(channels))
    seq.add_module("relu", nn.ReLU(inplace=True))
    return seq


class _TDNNLayer(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, dilation=1):
        super().__init__()
        padding = (kernel_size - 1) // 2 * dilation
        self.linear = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False)
        self.nonlinear = _bn_relu(out_channels)

    def forward(self, x):
        return self.nonlinear(self.linear(x))


class _CAMLayer(nn.Module):
    def __init__(self, bn_channels, out_channels, kernel_size, padding, dilation, reduction=2):
        super().__init__()
        self.linear_local = nn.Conv1d(bn_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False)
        self.linear1 = nn.Conv1d(bn_channels, bn_channels // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Conv1d(bn_channels // reduction, out_channels, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        y = self.linear_local(x)
        context = x.mean(-1, keepdim=True) + self._seg_pooling(x)
        return y * self.sigmoid(self.linear2(self.relu(self.linear1(context))))

    @staticmethod
    def _seg_pooling(x, seg_len: int = 100):
        seg = F.avg_pool1d(x, kernel_size=seg_len, stride=seg_len, ceil_mode=True)
        return seg.unsqueeze(-1).expand(*seg.shape, seg_len).reshape(*seg.shape[:-1], -1)[..., : x.shape[-1]]


class _CAMDenseTDNNLayer(nn.Module):
    def __init__(self, in_channels, out_channels, bn_channels, kernel_size, dilation):
        super().__init__()
        self.nonlinear1 = _bn_relu(in_channels)
        self.linear1 = nn.Conv1d(in_channels, bn_channels, 1, bias=False)
        self.nonlinear2 = _bn_relu(bn_channels)
        self.cam_layer = _CAMLayer(bn_channels, out_channels, kernel_size, (kernel_size - 1) // 2 * dilation, dilation)

    def forward(self, x):
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class _CAMDenseTDNNBlock(nn.ModuleList):
    def __init__(self, num_layers, in_channels, out_channels, bn_channels, kernel_size, dilation):
        super().__init__()
        for i in range(num_layers):
            layer = _CAMDenseTDNNLayer(in_channels + i * out_channels, out_channels, bn_channels, kernel_size, dilation)
            self.add_module(f"tdnnd{i + 1}", layer)

    def forward(self, x):
        for layer in self:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class _TransitLayer(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.nonlinear = _bn_relu(in_channels)
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)

    def forward(self, x):
        return self.linear(self.nonlinear(x))


class _DenseLayer(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.linear = nn.Conv1d(in_channels, out_channels, 1, bias=False)
        self.nonlinear = nn.Sequential()
        self.nonlinear.add_module("batchnorm", nn.BatchNorm1d(out_channels, affine=False))

    def forward(self, x):  # x: (batch, features)
        return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))


class CAMPPlusNet(nn.Module):
    """The bare network: (batch, frames, 80) fbank → frame features → pooled → 192-d."""

    def __init__(self, embedding_size: int = EMBEDDING_DIM, growth_rate=32, bn_size=4, init_channels=128):
        super().__init__()
        self.head = _FCM(feat_dim=NUM_MEL_BINS)
        channels = self.head.out_channels
        self.xvector = nn.Sequential(OrderedDict([("tdnn", _TDNNLayer(channels, init_channels, 5, stride=2))]))
        channels = init_channels
        for i, (num_layers, kernel_size, dilation) in enumerate([(12, 3, 1), (24, 3, 2), (16, 3, 2)]):
            self.xvector.add_module(
                f"block{i + 1}",
                _CAMDenseTDNNBlock(num_layers, channels, growth_rate, bn_size * growth_rate, kernel_size, dilation),
            )
            channels += num_layers * growth_rate
            self.xvector.add_module(f"transit{i + 1}", _TransitLayer(channels, channels // 2))
            channels //= 2
        self.xvector.add_module("out_nonlinear", _bn_relu(channels))
        self.dense = _DenseLayer(channels * 2, embedding_size)
        self.channels = channels

    def frames(self, fbank: torch.Tensor) -> torch.Tensor:
        """(batch, frames, 80) → (batch, channels, frames / 2)."""
        return self.xvector(self.head(fbank.permute(0, 2, 1)))

    def load_3dspeaker_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        # 3D-Speaker keeps stats pooling and dense inside ``xvector``; here they are split out.
        renamed = {k.replace("xvector.dense.", "dense."): v for k, v in state.items()}
        self.load_state_dict(renamed, strict=True)


class CAMPPlus(Model):
    """pyannote ``Model`` wrapper: (batch, 1, samples) [+ weights] → (batch, 192) embeddings."""

    def __init__(self, checkpoint: str | Path | None = None):
        super().__init__(sample_rate=SAMPLE_RATE, num_channels=1)
        self.net = CAMPPlusNet()
        self.pool = StatsPool()
        if checkpoint is not None:
            state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
            self.net.load_3dspeaker_state_dict(state)
        self.eval()

    @property
    def dimension(self) -> int:
        return EMBEDDING_DIM

    def fbank(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) → (batch, frames, 80) mean-normalised Kaldi fbank (as 3D-Speaker)."""
        import torchaudio.compliance.kaldi as kaldi

        feats = torch.stack(
            [
                kaldi.fbank(w, num_mel_bins=NUM_MEL_BINS, sample_frequency=SAMPLE_RATE, dither=0.0)
                for w in waveforms[:, :1, :]
            ]
        )
        return feats - feats.mean(dim=1, keepdim=True)

    def forward(self, waveforms: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        # pyannote embeds each local speaker of a chunk as (same waveform, different weights),
        # consecutively in the batch: run the network once per distinct waveform, pool per row.
        unique: list[int] = []
        inverse: list[int] = []
        for i in range(waveforms.shape[0]):
            if not unique or not torch.equal(waveforms[i], waveforms[unique[-1]]):
                unique.append(i)
            inverse.append(len(unique) - 1)
        frames = self.net.frames(self.fbank(waveforms[unique]))[inverse]
        pooled = self.pool(frames, weights=weights)
        return self.net.dense(pooled)
