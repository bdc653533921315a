"""The autoregressive token flow shared by the text and music flows."""

import numpy as np
import torch

from studio.layers.token_flow import TokenDequantization, TokenFlow


def test_token_flow_is_an_exact_change_of_variables():
    torch.manual_seed(0)
    flow = TokenFlow(vocab=7, hidden=16, embed=4).eval()
    eps = torch.randn(6, 10)
    with torch.no_grad():
        x = flow.from_noise(eps)  # (6, 10), each x_t inside its token's cell
        ids = torch.floor(x).long()
        assert torch.equal(ids, flow.sample_ids(eps))
        # log p(x) = log N(eps) - log |dx/deps|, summed over tokens; dx/deps is diagonal (autoregressive)
        jac = torch.autograd.functional.jacobian(lambda e: flow.from_noise(e[None])[0], eps[0])  # (10, 10)
    assert torch.allclose(torch.triu(jac, diagonal=1), torch.zeros(10, 10))  # x_t depends on eps_<=t only
    log_normal = -0.5 * (eps[0] ** 2 + np.log(2 * np.pi)).sum()
    expected = log_normal - torch.log(torch.diagonal(jac)).sum()
    assert torch.allclose(flow.log_prob(x[:1])[0], expected, atol=1e-3)
    deq = TokenDequantization(length=10, unit="bits/token")
    assert deq.dims == 10 and deq.cell_log_volume == 0.0
    assert torch.equal(torch.floor(deq.dequantize(ids)).long(), ids)  # dequantizing keeps each token's cell


def test_token_dequantization_reads_a_grid_row_by_row():
    deq = TokenDequantization(length=6, unit="bits/token")
    grid = torch.tensor([[[1, 2], [3, 4], [5, 0]]])  # (1, 3, 2) steps x voices
    x = deq.dequantize(grid, torch.zeros(1, 6))
    assert torch.equal(x, torch.tensor([[1.0, 2, 3, 4, 5, 0]]))
