"""The ENAS controller (Pham et al., 2018): an LSTM that walks every label of a search space,
sampling each decision from its state, and keeps what REINFORCE needs (log-probability, entropy,
skip penalty). Driven by `EnasTrainer` (enas.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from archsearch.mutator import Mutator
from archsearch.space import Architecture, InputChoiceDim


@dataclass
class _Walk:
    """What one pass of the controller over all labels produced."""

    masks: dict[str, torch.Tensor] = field(default_factory=dict)
    probabilities: dict[str, list[float]] = field(default_factory=dict)
    log_prob: list[torch.Tensor] = field(default_factory=list)
    entropy: list[torch.Tensor] = field(default_factory=list)
    skip_penalty: list[torch.Tensor] = field(default_factory=list)


class EnasMutator(Mutator):
    """ENAS' controller: an LSTM that decides the model's labels one after another, in order.

    Each label has its own output head (logits over its candidates) and its own embedding of
    those candidates, which is fed back as the next LSTM input, so every decision depends on the
    ones before it. Layer choices and value choices (Repeat depths included) are categorical; an
    InputChoice with `n_chosen=k` picks k distinct inputs one at a time without replacement; with
    `n_chosen=None` each input is kept by its own Bernoulli "skip" decision, as the paper's skip
    connections are, and `sample_skip_penalty` is the KL divergence of those keep-probabilities
    from `skip_target`. Logits are divided by `temperature` and squashed to
    `tanh_constant * tanh(logits)` (either may be None to skip that step).

    `sample_search()` samples a path and keeps `sample_log_prob`, `sample_entropy` and
    `sample_skip_penalty` (tensors with grad) for the REINFORCE step; call `reset()` under
    `torch.no_grad()` when only the path is needed. `sample_final()` is the greedy path: the most
    probable candidate at every step (the top k inputs for `n_chosen=k`, every input with
    keep-probability above 1/2 for `n_chosen=None`), so the export is deterministic.

    When only paths are needed (ENAS' child phase), `presample(n)` draws n paths in one batched
    walk of the controller (no log-probabilities), and each following `reset()` under
    `torch.no_grad()` applies the next of them instead of walking the controller again; such a
    reset sets `sample_log_prob`, `sample_entropy` and `sample_skip_penalty` to NaN. Paths drawn
    before the controller changed (an optimizer step, `load_state_dict`) are dropped, not used.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        lstm_size: int = 64,
        lstm_num_layers: int = 2,
        tanh_constant: float | None = 1.5,
        temperature: float | None = None,
        skip_target: float = 0.4,
    ) -> None:
        super().__init__(model)
        if not 0.0 < skip_target < 1.0:
            raise ValueError(f"skip_target must be in (0, 1), got {skip_target}")
        self.lstm_size = lstm_size
        self.tanh_constant = tanh_constant
        self.temperature = temperature
        self.skip_target = skip_target
        self.lstm = torch.nn.ModuleList(
            torch.nn.LSTMCell(lstm_size, lstm_size) for _ in range(lstm_num_layers)
        )
        self.g_emb = torch.nn.Parameter(torch.empty(1, lstm_size))
        """The first LSTM input (before any decision was made)."""
        widths = [dim.mask_size for dim in self.search_space.values()]
        # Indexed by label position: labels contain dots, which ModuleDict keys may not.
        self.heads = torch.nn.ModuleList(torch.nn.Linear(lstm_size, w) for w in widths)
        self.embeddings = torch.nn.ModuleList(torch.nn.Embedding(w, lstm_size) for w in widths)
        # The paper initialises the controller uniformly in [-0.1, 0.1].
        for param in self.parameters():
            torch.nn.init.uniform_(param, -0.1, 0.1)
        self.sample_log_prob = torch.zeros(())
        """Log-probability of the last `sample_search()` path."""
        self.sample_entropy = torch.zeros(())
        """Entropy of the controller's decisions along the last sampled path (summed)."""
        self.sample_skip_penalty = torch.zeros(())
        """KL(keep-probabilities ‖ skip_target) of the last path's any-subset input choices."""
        self.queued: tuple[dict[str, torch.Tensor], ...] = ()
        """Paths drawn by `presample` and not yet applied, next first."""
        self._queued_for: tuple[int, ...] = ()
        """The controller parameters' versions when `queued` was drawn."""
        self._queued_params: list[torch.nn.Parameter] = []
        self._nan = torch.full((), float("nan"))

    def reset(self) -> None:
        """Apply the next pre-sampled path (under `torch.no_grad()`, while the controller is
        unchanged since `presample`), else a fresh `sample_search()` walk."""
        if self.queued and not torch.is_grad_enabled() and self.presampled:
            path, *rest = self.queued
            self.queued = tuple(rest)
            self.sample_log_prob = self.sample_entropy = self.sample_skip_penalty = self._nan
            self._cache = path  # built from the search space: already checked
            return
        super().reset()

    @property
    def presampled(self) -> int:
        """How many pre-sampled paths are left for the next resets (0 once the controller has
        changed since they were drawn; they are then dropped)."""
        if self.queued and self._queued_for != self._versions():
            self.queued = ()
        return len(self.queued)

    @torch.no_grad()
    def presample(self, count: int) -> None:
        """Draw `count` paths from the controller as it is now, in one batched walk, for the
        next `count` resets under `torch.no_grad()` (replacing any left over)."""
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        labels = self.search_space.labels
        rows: list[dict[str, torch.Tensor]] = [{} for _ in range(count)]
        for label, column in zip(labels, self._walk_batch(count), strict=True):
            for row, mask in zip(rows, column.cpu().unbind(0), strict=True):
                row[label] = mask
        self.queued = tuple(rows)
        self._queued_params = list(self.parameters())
        self._queued_for = self._versions()

    def clear_presampled(self) -> None:
        """Drop the pre-sampled paths left over."""
        self.queued = ()

    def _versions(self) -> tuple[int, ...]:
        # Every in-place change of a parameter (optimizer step, load_state_dict) bumps its version.
        return tuple(p._version for p in self._queued_params)

    def sample_search(self) -> dict[str, torch.Tensor]:
        walk = self._walk(greedy=False)
        self.sample_log_prob = _total(walk.log_prob, self.g_emb)
        self.sample_entropy = _total(walk.entropy, self.g_emb)
        self.sample_skip_penalty = _total(walk.skip_penalty, self.g_emb)
        return walk.masks

    @torch.no_grad()
    def sample_final(self) -> dict[str, torch.Tensor]:
        return self._walk(greedy=True).masks

    @torch.no_grad()
    def greedy_probabilities(self) -> dict[str, list[float]]:
        """Per label, the controller's distribution at that label while following the greedy
        path: a softmax over candidates; for `n_chosen=k` the distribution of the first pick;
        for `n_chosen=None` each input's keep-probability (these need not sum to 1)."""
        return self._walk(greedy=True).probabilities

    def sampled_architecture(self) -> Architecture:
        """The decision of the last `reset()` as a canonical architecture."""
        return self.search_space.validate(
            {label: self.decision_for(label).tolist() for label in self.search_space}
        )

    # ----- the controller --------------------------------------------------------------------

    def _walk(self, greedy: bool) -> _Walk:
        walk = _Walk()
        inputs: torch.Tensor = self.g_emb
        zeros = torch.zeros_like(self.g_emb)
        state = [(zeros, zeros) for _ in self.lstm]
        for index, (label, dim) in enumerate(self.search_space.items()):
            head = self.heads[index]
            embedding = self.embeddings[index]
            assert isinstance(embedding, torch.nn.Embedding)
            if isinstance(dim, InputChoiceDim) and dim.n_chosen is None:
                logits = self._logits(head, inputs, state)[0]
                keep, inputs = self._keep_inputs(label, logits, embedding, greedy, walk)
                walk.masks[label] = keep.cpu()
                continue
            picks = dim.n_chosen if isinstance(dim, InputChoiceDim) and dim.n_chosen else 1
            taken = torch.zeros(dim.mask_size, dtype=torch.bool, device=self.g_emb.device)
            for pick in range(picks):
                logits = self._logits(head, inputs, state)[0].masked_fill(taken, float("-inf"))
                log_p = F.log_softmax(logits, dim=-1)
                probs = log_p.exp()
                if greedy and pick == 0:
                    walk.probabilities[label] = probs.tolist()
                choice = int(probs.argmax() if greedy else torch.multinomial(probs, 1))
                open_log_p = log_p[~taken]  # taken inputs have probability 0: no entropy, no NaN
                walk.log_prob.append(log_p[choice])
                walk.entropy.append(-(open_log_p.exp() * open_log_p).sum())
                taken = taken.clone()  # the previous mask is saved for backward by masked_fill
                taken[choice] = True
                inputs = embedding.weight[choice].unsqueeze(0)
            walk.masks[label] = taken.cpu()
        return walk

    def _walk_batch(self, count: int) -> list[torch.Tensor]:
        """`count` independent paths sampled as `_walk` samples one, as a (count, candidates)
        bool mask per label, in label order; no log-probabilities (call under no_grad)."""
        inputs = self.g_emb.expand(count, -1)
        zeros = torch.zeros_like(inputs)
        state = [(zeros, zeros) for _ in self.lstm]
        columns = []
        for index, dim in enumerate(self.search_space.values()):
            head = self.heads[index]
            embedding = self.embeddings[index]
            assert isinstance(embedding, torch.nn.Embedding)
            if isinstance(dim, InputChoiceDim) and dim.n_chosen is None:
                keep = torch.bernoulli(torch.sigmoid(self._logits(head, inputs, state))).bool()
                columns.append(keep)
                inputs = keep.float() @ embedding.weight / (1 + keep.sum(1, keepdim=True))
                continue
            picks = dim.n_chosen if isinstance(dim, InputChoiceDim) and dim.n_chosen else 1
            taken = torch.zeros(count, dim.mask_size, dtype=torch.bool, device=inputs.device)
            for _ in range(picks):
                logits = self._logits(head, inputs, state).masked_fill(taken, float("-inf"))
                choice = torch.multinomial(torch.softmax(logits, dim=-1), 1)
                taken.scatter_(1, choice, True)
                inputs = embedding(choice.squeeze(1))
            columns.append(taken)
        return columns

    def _logits(
        self,
        head: torch.nn.Module,
        inputs: torch.Tensor,
        state: list[tuple[torch.Tensor, torch.Tensor]],
    ) -> torch.Tensor:
        """Advance the stacked LSTM by one step (updating `state`) and read a label's logits,
        one row per path walked."""
        x = inputs
        for layer, cell in enumerate(self.lstm):
            h, c = cell(x, state[layer])
            state[layer] = (h, c)
            x = h
        logits: torch.Tensor = head(x)
        if self.temperature is not None:
            logits = logits / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * torch.tanh(logits)
        return logits

    def _keep_inputs(
        self,
        label: str,
        logits: torch.Tensor,
        embedding: torch.nn.Embedding,
        greedy: bool,
        walk: _Walk,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Bernoulli keep/skip per input; returns the keep mask and the next LSTM input."""
        keep_p = torch.sigmoid(logits)
        if greedy:
            walk.probabilities[label] = keep_p.tolist()
        keep = keep_p > 0.5 if greedy else torch.bernoulli(keep_p.detach()).bool()
        dist = torch.distributions.Bernoulli(logits=logits)
        walk.log_prob.append(dist.log_prob(keep.float()).sum())
        walk.entropy.append(dist.entropy().sum())
        target = self.skip_target
        kl = keep_p * torch.log(keep_p / target) + (1 - keep_p) * torch.log(
            (1 - keep_p) / (1 - target)
        )
        walk.skip_penalty.append(kl.sum())
        # As in the paper, the next input averages the kept inputs' embeddings (and a zero
        # vector, so that keeping nothing is well defined).
        inputs = (keep.float() @ embedding.weight / (1 + keep.sum())).unsqueeze(0)
        return keep, inputs


def _total(terms: Sequence[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    return torch.stack(list(terms)).sum() if terms else torch.zeros((), device=like.device)
