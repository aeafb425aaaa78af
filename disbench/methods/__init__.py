"""Reference methods used by the baseline submissions, all on the paper's conv64 architecture."""

from disbench.methods.adavae import AdaVAE
from disbench.methods.base import Method, ObservationPairs, Observations, TaskInfo
from disbench.methods.conv64 import DecoderConv64, EncoderConv64
from disbench.methods.dipvae import DIPVAE
from disbench.methods.tcvae import BetaTCVAE
from disbench.methods.vae import AutoEncoder, BetaVAE

__all__ = ["AdaVAE", "AutoEncoder", "BetaTCVAE", "BetaVAE", "DIPVAE", "DecoderConv64", "EncoderConv64", "Method", "ObservationPairs", "Observations", "TaskInfo"]
