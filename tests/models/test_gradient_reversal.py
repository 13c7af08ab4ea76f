import pytest
import torch

from nlp_transfer.models.gradient_reversal import GradientReversal, reverse_gradient


@pytest.mark.parametrize("coeff", [0.0, 0.25, 1.0, 3.5])
def test_backward_is_exactly_minus_lambda_times_incoming_gradient(coeff: float) -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 7, requires_grad=True)
    upstream = torch.randn(4, 7)
    out = GradientReversal(coeff)(x)
    out.backward(upstream)
    assert torch.equal(x.grad, -coeff * upstream)


def test_forward_is_identity_and_function_form_matches() -> None:
    x = torch.randn(3, 5, requires_grad=True)
    y = reverse_gradient(x, 2.0)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.equal(x.grad, torch.full_like(x, -2.0))


def test_coefficient_can_be_changed_between_steps() -> None:
    layer = GradientReversal(1.0)
    x = torch.ones(2, requires_grad=True)
    layer(x).sum().backward()
    layer.coeff = 0.5
    x.grad = None
    layer(x).sum().backward()
    assert torch.equal(x.grad, torch.full((2,), -0.5))
