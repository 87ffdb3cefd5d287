"""How the box learns the traffic-light phase: a classifier, the controller, or a fixed plan."""

from __future__ import annotations

from pydantic import Field, model_validator

from protocol.enums import ControllerKind, SignalPhase, SignalSource
from protocol.fields import WireModel


class PhaseStep(WireModel):
    """One step of a fixed signal plan."""

    colour: SignalPhase = Field(description="Màu đèn: red, amber, green (phase colour).")
    duration_s: float = Field(gt=0, le=600, description="Thời lượng, giây (duration).")

    @model_validator(mode="after")
    def _known(self) -> PhaseStep:
        if self.colour is SignalPhase.unknown:
            raise ValueError("một bước của chu kỳ không thể là unknown (a plan step is a colour)")
        return self


class FixedPlan(WireModel):
    """A fixed-time signal plan, for lights that never deviate from it."""

    cycle_s: float = Field(gt=0, le=3600, description="Độ dài chu kỳ, giây (cycle length).")
    phases: list[PhaseStep] = Field(min_length=1, description="Các bước, theo thứ tự (steps).")
    offset_s: float = Field(
        default=0.0, ge=0, description="Chu kỳ bắt đầu sau 00:00 UTC bao nhiêu giây (offset)."
    )

    @model_validator(mode="after")
    def _adds_up(self) -> FixedPlan:
        total = sum(step.duration_s for step in self.phases)
        if abs(total - self.cycle_s) > 1e-6:
            raise ValueError(f"tổng các bước {total} s khác cycle_s {self.cycle_s} s (must add up)")
        if self.offset_s >= self.cycle_s:
            raise ValueError("offset_s phải nhỏ hơn cycle_s (offset within the cycle)")
        return self


class ControllerInput(WireModel):
    """The signal controller's red output wired to the box."""

    kind: ControllerKind = Field(description="gpio hoặc serial (input kind).")
    pin: int | None = Field(default=None, ge=0, le=63, description="Chân GPIO (BCM) cho gpio.")
    port: str | None = Field(default=None, min_length=1, description="Cổng nối tiếp cho serial.")
    baudrate: int = Field(default=9600, gt=0, description="Tốc độ cổng nối tiếp (baud rate).")
    active_high: bool = Field(
        default=True, description="Mức cao nghĩa là đèn đỏ (high level means red)."
    )

    @model_validator(mode="after")
    def _wired(self) -> ControllerInput:
        if self.kind is ControllerKind.gpio and self.pin is None:
            raise ValueError("gpio cần pin (gpio needs pin)")
        if self.kind is ControllerKind.serial and self.port is None:
            raise ValueError("serial cần port (serial needs port)")
        return self


class SignalSection(WireModel):
    """Where the signal phase comes from."""

    source: SignalSource = Field(
        default=SignalSource.classifier,
        description="classifier (vùng đèn đã hiệu chỉnh), controller hoặc fixed_plan.",
    )
    fixed_plan: FixedPlan | None = Field(default=None, description="Chu kỳ cố định (fixed plan).")
    controller: ControllerInput | None = Field(
        default=None, description="Đầu vào từ tủ điều khiển (controller input)."
    )

    @model_validator(mode="after")
    def _configured(self) -> SignalSection:
        if self.source is SignalSource.fixed_plan and self.fixed_plan is None:
            raise ValueError("source fixed_plan cần signal.fixed_plan (needs fixed_plan)")
        if self.source is SignalSource.controller and self.controller is None:
            raise ValueError("source controller cần signal.controller (needs controller)")
        return self
