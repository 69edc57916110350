"""Process wiring decisions that are not obvious from the settings alone."""

from __future__ import annotations

from services.common.settings import Settings
from services.intake.bootstrap import DEFAULT_MATRIX_CSV, with_pool_for_consumer


def test_pool_holds_a_connection_per_complaint_in_flight_up_to_32() -> None:
    settings = Settings(env="test", db_pool_size=10, intake_consumer_concurrency=16)
    assert with_pool_for_consumer(settings).db_pool_size == 20
    # Beyond 32 in flight the group-committed batches carry the load.
    wide = Settings(env="test", db_pool_size=10, intake_consumer_concurrency=256)
    assert with_pool_for_consumer(wide).db_pool_size == 36
    # A larger pool an operator configured is kept.
    roomy = Settings(env="test", db_pool_size=80, intake_consumer_concurrency=32)
    assert with_pool_for_consumer(roomy).db_pool_size == 80


def test_the_seed_matrix_ships_with_the_code() -> None:
    assert DEFAULT_MATRIX_CSV.is_file()
    assert DEFAULT_MATRIX_CSV.read_text().startswith("service_code,")
