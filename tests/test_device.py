"""Device choice and where bf16 autocast pays."""

import torch


def test_bf16_only_where_the_device_has_it_natively(monkeypatch):
    import emogan.device as device
    from emogan.device import fast_bf16

    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: False)
    assert not fast_bf16(torch.device("cpu"))
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)
    assert fast_bf16(torch.device("cpu"))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    assert not fast_bf16(torch.device("cuda"))       # emulated bf16 (pre-Ampere GPUs) is slower than fp32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert fast_bf16(torch.device("cuda"))
