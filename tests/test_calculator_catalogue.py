"""The calculator catalogue is the one definition the command line and the API are built from."""

from __future__ import annotations

import pytest

from renalpath.calculators import OWNERS, all_calculators, get
from renalpath.cli.calc import command_info
from renalpath.cli.calc_render import RENDER


@pytest.mark.parametrize("name", list(OWNERS))
def test_cli_options_are_the_request_fields(name: str) -> None:
    """Every request field is an option of `renalpath calc NAME`, and nothing else is."""
    import inspect

    calc = get(name)
    params = set(inspect.signature(command_info(name).callback).parameters)  # type: ignore[arg-type]
    assert params == set(calc.request.model_fields) | {"as_json", "explain"}


def test_every_calculator_has_a_text_rendering_and_an_api_route() -> None:
    from renalpath.web.api.calculators import CALCULATORS as API

    assert set(RENDER) == set(OWNERS) == set(all_calculators()) == set(API)


def test_cli_flags_name_real_fields() -> None:
    """An override of a flag spelling must name a field of the request (no dead entries)."""
    for calc in all_calculators().values():
        assert set(calc.cli_flags) <= set(calc.request.model_fields), calc.name
