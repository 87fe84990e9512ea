"""A classic-NAS trial script in NNI's shape: v1 mutables in a plain torch.nn model, the
architecture applied by get_and_apply_next_architecture, results reported with nni.report_*."""

import argparse

import nni
import torch
import torch.nn as nn
import torch.nn.functional as F
from mnist1d.data import get_dataset_args, make_dataset
from nni.nas.pytorch.classic_nas import get_and_apply_next_architecture
from nni.nas.pytorch.mutables import InputChoice, LayerChoice


class Net(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.conv1 = LayerChoice(
            [nn.Conv1d(1, 16, 3, padding=1), nn.Conv1d(1, 16, 5, padding=2)], key="first_conv"
        )
        self.mid_conv = LayerChoice(
            [nn.Conv1d(16, 16, 3, padding=1), nn.Conv1d(16, 16, 5, padding=2)], key="mid_conv"
        )
        self.input_switch = InputChoice(n_candidates=2, n_chosen=1, key="skip")
        self.fc1 = nn.Linear(16 * 10, hidden_size)
        self.fc2 = nn.Linear(hidden_size, 10)

    def forward(self, x):
        x = F.max_pool1d(F.relu(self.conv1(x)), 2)
        old_x = x
        x = F.relu(self.mid_conv(x))
        x = x + self.input_switch([torch.zeros_like(old_x), old_x])
        x = F.max_pool1d(x, 2).flatten(1)
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def main(args):
    torch.manual_seed(args.seed)
    data = make_dataset(get_dataset_args())
    x = torch.tensor(data["x"], dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(data["y"])
    x_test = torch.tensor(data["x_test"], dtype=torch.float32).unsqueeze(1)
    y_test = torch.tensor(data["y_test"])

    model = Net(hidden_size=args.hidden_size)
    get_and_apply_next_architecture(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(1, args.epochs + 1):
        model.train()
        for start in range(0, len(x), 100):
            optimizer.zero_grad()
            F.nll_loss(model(x[start : start + 100]), y[start : start + 100]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            test_acc = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
        if epoch < args.epochs:
            nni.report_intermediate_result(test_acc)
        else:
            nni.report_final_result(test_acc)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden_size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    main(parser.parse_args())
