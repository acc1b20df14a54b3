"""The clinical course of one synthetic patient: diagnosis, treatment, failures, salvage, death.

Treatments follow the pathway most of the time (the guideline rules) with the deviations real
departments show; failures after ablation or partial nephrectomy lead to re-ablation or
salvage surgery, which is what the salvage study looks at.  All
probabilities live in `distributions` and are synthetic ([P]) unless cited there.

Dates are generated first and filtered at the end: the patient's follow-up horizon (death or
last contact) is only known once the disease course is known, and everything after it is
dropped, so no row can postdate the death or the last contact.
"""

from __future__ import annotations

import math

from renalpath.clinical.durations import DAYS_PER_MONTH
from renalpath.synth import distributions as D
from renalpath.synth.draws import Draws
from renalpath.synth.model import (
    KIDNEY_ABLATION,
    KIDNEY_PN,
    KIDNEY_RN,
    Complication,
    Event,
    Imaging,
    Op,
    Patient,
    Tumour,
)
from renalpath.synth.staging import t_category

_ABLATIONS = ("cryoablation", "radiofrequency_ablation", "microwave_ablation")
_OTHER_SIDE = {"left": "right", "right": "left"}
_LN2 = math.log(2.0)


class Course:
    """Simulates one patient; read the results from the public attributes after `run()`."""

    def __init__(self, d: Draws, patient_id: str) -> None:
        self.d = d
        self.patient_id = patient_id
        self.tumours: list[Tumour] = []
        self.ops: list[Op] = []
        self.events: list[Event] = []
        self.imaging: list[Imaging] = []
        self.dialysis: list[tuple[int, int | None]] = []  # (start, end or None)
        self.death_date: int | None = None
        self.death_cause = ""
        self.last_contact: int | None = None
        self.horizon = 0
        self._op_seq = 0
        self._candidate_deaths: list[tuple[int, str]] = []
        self.patient = self._patient()

    # --- patient and tumours ------------------------------------------------------------------
    def _patient(self) -> Patient:
        d = self.d
        sex = "male" if d.chance(D.P_MALE) else "female"
        age = d.bounded_normal(D.AGE_MEAN, D.AGE_SD, D.AGE_MIN, D.AGE_MAX)
        dx = d.int_between(D.DX_FIRST, D.DX_LAST)
        birth = dx - int(age * D.DAYS_PER_YEAR)
        hereditary = d.pick(D.HEREDITARY_YOUNG if age < 46 else D.HEREDITARY_OLDER)
        solitary = d.pick(D.SOLITARY_KIDNEY)
        median = D.CREAT_MEDIAN_MALE if sex == "male" else D.CREAT_MEDIAN_FEMALE
        creat = d.lognormal(median, D.CREAT_SIGMA) * (1.0 + D.CREAT_AGE_SLOPE * max(0.0, age - 60))
        if d.chance(D.P_CKD_TAIL):
            creat *= d.uniform(*D.CKD_FACTOR)
        if solitary != "none":
            creat *= d.uniform(1.1, 1.5)
        return Patient(
            patient_id=self.patient_id,
            sex=sex,
            birth=birth,
            dx=dx,
            age_at_dx=(dx - birth) / D.DAYS_PER_YEAR,
            frail=d.chance(D.p_frail(age)),
            solitary_kidney=solitary,
            hereditary=hereditary,
            black_race=d.pick(D.BLACK_RACE),
            creatinine_base=max(0.4, creat),
            lab_in_umol=d.chance(D.P_LAB_IN_UMOL),
            lab_reports_egfr=d.chance(0.3),
        )

    def age(self, day: int) -> float:
        return (day - self.patient.birth) / D.DAYS_PER_YEAR

    def _tumour(self, side: str, dx: int, small: bool = False) -> Tumour:
        d = self.d
        median = D.SIZE_MEDIAN_MM * (0.6 if small else 1.0)
        size = round(d.bounded_lognormal(median, D.SIZE_SIGMA, D.SIZE_MIN_MM, D.SIZE_MAX_MM))
        extension = d.pick(D.extension_weights(size))
        histology = d.pick(D.histology_weights(size))
        benign = histology in D.BENIGN
        if benign:
            extension = "none"  # benign tumours do not invade (oncocytoma, AML) [P]
        n_pos = not benign and d.chance(D.p_node_positive(size, extension))
        m1 = not benign and d.chance(D.p_metastatic_at_diagnosis(size, extension))
        cn = "NX" if d.chance(D.P_NX) else ("N1" if n_pos else "N0")
        tumour = Tumour(
            tumour_id=f"{self.patient_id}-T{len(self.tumours) + 1}",
            side=side,
            dx=dx,
            size_mm=size,
            extension=extension,
            ct=t_category(size, extension),
            cn=cn,
            cm="M1" if m1 else "M0",
            histology=histology,
            central=d.chance(D.P_CENTRAL + (0.15 if size > 70 else 0.0)),
        )
        self.tumours.append(tumour)
        self._diagnostic_imaging(tumour)
        return tumour

    def _diagnostic_imaging(self, t: Tumour) -> None:
        d = self.d
        modality = d.pick(D.IMAGING_MODALITY)
        nephrometry: dict[str, str] | None = None
        if modality != "us" and t.cm == "M0" and d.chance(D.P_RENAL_SCORED):
            nephrometry = self._nephrometry(t)
        self.imaging.append(Imaging(t.tumour_id, t.dx, modality, t.size_mm, nephrometry))

    def _nephrometry(self, t: Tumour) -> dict[str, str]:
        """R.E.N.A.L. and (sometimes) PADUA components consistent with a central tumour."""
        d = self.d
        if t.central:
            exophytic = d.int_between(0, 45)
            nearness = round(d.uniform(0.0, 4.0), 1)
            polar = d.pick((("central", 0.6), ("crosses", 0.4)))
            hilar = d.chance(0.45)
        else:
            exophytic = d.int_between(30, 100)
            nearness = round(d.uniform(3.0, 20.0), 1)
            polar = d.pick((("outside", 0.6), ("crosses", 0.4)))
            hilar = False
        row = {
            "renal_exophytic_pct": str(exophytic),
            "renal_nearness_mm": f"{nearness:g}",
            "renal_ap": d.pick((("a", 0.45), ("p", 0.45), ("x", 0.1))),
            "renal_polar": polar,
            "renal_hilar": "true" if hilar else "false",
        }
        if d.chance(0.5):
            row.update(
                padua_polar=d.pick((("superior", 0.35), ("inferior", 0.35), ("middle", 0.3))),
                padua_exophytic_pct=str(exophytic),
                padua_rim="medial" if t.central else d.pick((("lateral", 0.7), ("medial", 0.3))),
                padua_sinus="true" if t.central and d.chance(0.6) else "false",
                padua_ucs="true" if t.central and d.chance(0.5) else "false",
                padua_face=d.pick((("a", 0.5), ("p", 0.5))),
            )
        return row

    # --- the whole course ---------------------------------------------------------------------
    def run(self) -> None:
        d, p = self.d, self.patient
        other_death = self._other_cause_death()
        censor = min(
            D.DATA_FREEZE - d.int_between(0, 180),
            p.dx + int(d.exponential(D.DROPOUT_MEAN_YEARS) * D.DAYS_PER_YEAR),
        )
        censor = max(censor, p.dx)
        self._candidate_deaths.append((other_death, "other"))
        horizon0 = min(other_death, censor)

        side = "left" if d.chance(0.5) else "right"
        first = self._tumour(side, p.dx)
        bilateral = d.chance(D.P_SYNCHRONOUS_BILATERAL)
        second = self._tumour(_OTHER_SIDE[side], p.dx, small=True) if bilateral else None
        if second is not None:
            second.cm = first.cm  # one patient, one M category at diagnosis
        self._treat(first, imperative=bilateral)
        if second is not None and first.cm == "M0":
            self._treat(second, imperative=True)
        elif first.cm == "M0" and d.chance(D.P_METACHRONOUS_CONTRALATERAL):
            later = p.dx + int(d.uniform(1.5, 8.0) * D.DAYS_PER_YEAR)
            if later < horizon0:
                new = self._tumour(_OTHER_SIDE[side], later, small=True)
                new.cm = "M0"
                new.cn = "N0" if new.cn == "N1" else new.cn
                self._treat(new, imperative=True)  # the patient now relies on both kidneys

        first_death = min(self._candidate_deaths)
        end = min(horizon0, first_death[0])
        if first_death[0] <= horizon0:
            self.death_date, self.death_cause = first_death
            if d.chance(0.04):
                self.death_cause = "unknown"
        self.horizon = end
        self._truncate(end)
        self._renumber()
        if self.death_date is None:
            self.last_contact = end
        elif d.chance(0.5):
            self.last_contact = self._latest_item_date()

    def _other_cause_death(self) -> int:
        """Year-by-year other-cause mortality from diagnosis to the data freeze."""
        d, p = self.d, self.patient
        year = 0
        while True:
            start = p.dx + int(year * D.DAYS_PER_YEAR)
            if start > D.DATA_FREEZE:
                return D.DATA_FREEZE + 10_000  # alive at the freeze
            if d.chance(D.other_cause_hazard(p.age_at_dx + year)):
                return start + d.int_between(1, 365)
            year += 1

    def _truncate(self, end: int) -> None:
        self.tumours = [t for t in self.tumours if t.dx <= end]
        self.ops = [o for o in self.ops if o.date <= end]
        for op in self.ops:
            op.complications = [c for c in op.complications if c.date <= end]
        self.events = [e for e in self.events if e.date <= end]
        self.imaging = [i for i in self.imaging if i.date <= end]
        kept = []
        for start, stop in self.dialysis:
            if start <= end:
                kept.append((start, stop if stop is not None and stop <= end else None))
        self.dialysis = kept

    def _renumber(self) -> None:
        """Intervention ids in date order (I1 = first treatment), as a registrar would number
        them; ids were handed out in the order the story was written, not lived."""
        self.ops.sort(key=lambda o: o.date)  # stable: same-day operations keep their order
        for k, op in enumerate(self.ops, start=1):
            op.op_id = f"{self.patient_id}-I{k}"
        for op in self.ops:
            if op.parent_written and op.parent is not None:
                op.parent_written = op.parent.op_id

    def _latest_item_date(self) -> int:
        dates = [self.patient.dx]
        dates += [o.date for o in self.ops]
        dates += [e.date for e in self.events]
        return max(dates)

    # --- first treatment ----------------------------------------------------------------------
    def _treat(self, t: Tumour, imperative: bool) -> None:
        if t.cm == "M1":
            self._treat_metastatic(t)
            return
        choice = self._choose_local(t, imperative)
        start = t.dx + self.d.int_between(20, 100)
        if choice == "as":
            self._active_surveillance(t, t.dx + self.d.int_between(0, 30), imperative)
        elif choice == "none":
            return
        else:
            op = self._local_op(t, choice, start, intent="primary")
            self._after_local(t, op)

    def _choose_local(self, t: Tumour, imperative: bool) -> str:
        d, p = self.d, self.patient
        age = self.age(t.dx)
        unfit = p.frail or age >= 80
        imperative = imperative or p.solitary_kidney != "none" or p.hereditary == "confirmed"
        w: dict[str, float]
        if t.ct == "T1a":
            if t.size_mm <= 20 and (age >= 75 or p.frail):  # SRM-AS-03 [P age 75]
                w = {"as": 0.7, "ablation": 0.2, "pn": 0.1}
            elif unfit or age >= 75:  # SRM-AS-01 / SRM-TA-02
                w = {"as": 0.4, "ablation": 0.42, "pn": 0.13, "rn": 0.05}
            else:  # LOC-PN-01, with ablation and surveillance as common deviations
                w = {"pn": 0.72, "ablation": 0.13, "as": 0.07, "rn": 0.15 if t.central else 0.06}
        elif t.ct == "T1b":
            if unfit:
                w = {"as": 0.4, "ablation": 0.25, "pn": 0.2, "rn": 0.15}
            elif t.central:  # ONX-05 / LOC-PN-04: central tumours often end up radical
                w = {"pn": 0.45, "rn": 0.5, "ablation": 0.03, "as": 0.02}
            else:
                w = {"pn": 0.65, "rn": 0.3, "ablation": 0.03, "as": 0.02}
        elif t.ct in ("T2a", "T2b"):  # LOC-RN-01
            w = (
                {"as": 0.35, "rn": 0.45, "pn": 0.1, "embolisation": 0.1}
                if unfit
                else {"rn": 0.85, "pn": 0.13, "as": 0.02}
            )
        else:  # cT3–T4 M0: RN (with thrombectomy for venous extension, LOC-VT-01)
            w = {"rn": 0.45, "as": 0.35, "embolisation": 0.2} if unfit else {"rn": 0.97, "as": 0.03}
        if imperative and "rn" in w:  # imperative nephron sparing (LOC-RN-02, SAL-05)
            w["pn"] = w.get("pn", 0.0) + w["rn"] * 0.85
            w["rn"] *= 0.15
        return d.pick(tuple(w.items()))

    def _active_surveillance(self, t: Tumour, start: int, imperative: bool) -> None:
        """Active surveillance with imaging every 6–12 months (SRM-AS-P); growth triggers."""
        d, p = self.d, self.patient
        op = self._new_op(t, start, "active_surveillance", "none", "primary")
        op.intent_written = "" if d.chance(D.P_INTENT_BLANK_PRIMARY) else "primary"
        t.biopsy_done = d.chance(D.P_BIOPSY_BEFORE_AS)
        if t.biopsy_done:
            t.biopsy_result = self._biopsy_result(t)
        growth = 0.5 if t.histology in D.BENIGN else d.bounded_lognormal(2.5, 0.8, 0.0, 25.0)
        size = float(t.size_mm)
        day = start
        for _ in range(16):
            interval = d.int_between(180, 365)
            day += interval
            if day > D.DATA_FREEZE:
                break
            size += growth * interval / D.DAYS_PER_YEAR
            self.imaging.append(
                Imaging(t.tumour_id, day, d.pick(D.IMAGING_MODALITY[:2]), round(size))
            )
            # SRM-AS-P triggers: growth ≥ 5 mm/year or size > 40 mm (default) [V/P]
            if (growth >= 5.0 or size > 40.0) and not p.frail:
                t.size_mm = round(size)
                choice = "ablation" if size <= 30 and d.chance(0.4) else "pn"
                if size > 70 and not imperative:
                    choice = "rn"
                new = self._local_op(t, choice, day + d.int_between(30, 90), intent="primary")
                self._after_local(t, new)
                return
        self._progression(t, op)

    def _treat_metastatic(self, t: Tumour) -> None:
        """Synchronous M1: cytoreductive nephrectomy and/or systemic therapy (A.6/A.7)."""
        d, p = self.d, self.patient
        t.biopsy_done = True
        t.biopsy_result = self._biopsy_result(t)
        survival = d.exponential(D.RCC_SURVIVAL_MEDIAN_MONTHS_M1 / _LN2) * DAYS_PER_MONTH
        self._candidate_deaths.append((t.dx + 30 + int(survival), "rcc"))
        fit = not p.frail and self.age(t.dx) < 78
        start = t.dx + d.int_between(14, 60)
        if fit and d.chance(0.35):  # immediate CN (CN-04 / ONX-02)
            cn = self._local_op(t, "rn", start, intent="cytoreductive")
            if d.chance(0.75):
                self._new_op(
                    None, cn.date + d.int_between(35, 90), "systemic_therapy", "none", "palliative"
                )
        elif fit or d.chance(0.6):
            self._new_op(None, start, "systemic_therapy", "none", "palliative")
            if fit and d.chance(0.15):  # deferred CN after response (CN-03)
                self._local_op(t, "rn", start + d.int_between(120, 270), intent="cytoreductive")
        elif d.chance(0.15):  # symptomatic primary, unfit (CN-06)
            self._new_op(t, start, "embolisation", "percutaneous", "palliative")
        if d.chance(0.15):  # palliative radiotherapy (MDL-06)
            self._new_op(None, start + d.int_between(30, 300), "radiotherapy", "none", "palliative")
        if fit and d.chance(0.06):  # metastasectomy (MDL-01); intent left to the registry
            op = self._new_op(
                None, start + d.int_between(60, 400), "metastasectomy", "open", "primary"
            )
            op.intent_written = ""
            self._periop(op, "other", salvage=False)

    # --- operations ---------------------------------------------------------------------------
    def _new_op(
        self,
        t: Tumour | None,
        day: int,
        type_: str,
        approach: str,
        intent: str,
        kidney: str | None = None,
    ) -> Op:
        self._op_seq += 1
        op = Op(
            op_id=f"{self.patient_id}-I{self._op_seq}",
            tumour=t,
            date=day,
            type=type_,
            approach=approach,
            intent=intent,
            kidney=kidney,
            intent_written=intent,
        )
        if t is not None and not self.d.chance(D.P_SIDE_BLANK):
            op.side_written = t.side
        self.ops.append(op)
        return op

    def _local_op(
        self,
        t: Tumour,
        choice: str,
        day: int,
        intent: str,
        parent: Op | None = None,
        lesion_mm: int | None = None,
    ) -> Op:
        """PN, RN, ablation or embolisation of tumour `t`, with perioperative data."""
        d = self.d
        salvage = intent == "salvage"
        if choice == "pn":
            op = self._new_op(
                t, day, "partial_nephrectomy", d.pick(D.PN_APPROACH), intent, KIDNEY_PN
            )
        elif choice == "rn":
            table = (
                D.RN_APPROACH_LARGE
                if t.size_mm > 100 or t.extension != "none"
                else D.RN_APPROACH_SMALL
            )
            op = self._new_op(t, day, "radical_nephrectomy", d.pick(table), intent, KIDNEY_RN)
        elif choice == "ablation":
            size = lesion_mm if lesion_mm is not None else t.size_mm
            # SRM-TA-01: RFA/MWA not routinely above 30 mm, cryo not above 40 mm [S]
            modality = "cryoablation" if size > 30 else d.pick(D.ABLATION_MODALITY)
            if parent is not None and parent.type in _ABLATIONS and d.chance(0.7):
                modality = parent.type
            op = self._new_op(
                t, day, modality, d.pick(D.ABLATION_APPROACH), intent, KIDNEY_ABLATION
            )
            if not t.biopsy_done:  # TRI-04 biopsy before ablation
                t.biopsy_done = True
                t.biopsy_result = self._biopsy_result(t)
        else:
            op = self._new_op(t, day, "embolisation", "percutaneous", "palliative")
            return op
        if intent == "primary" and d.chance(D.P_INTENT_BLANK_PRIMARY):
            op.intent_written = ""  # derivable: no earlier curative treatment of this tumour
        if salvage:
            op.parent = parent
            explicit = d.chance(D.P_SALVAGE_INTENT_EXPLICIT)
            op.intent_written = "salvage" if explicit else ""
            if explicit and parent is not None and d.chance(D.P_PARENT_EXPLICIT):
                op.parent_written = parent.op_id
        self._periop(op, op.kidney or "other", salvage)
        if op.kidney in (KIDNEY_PN, KIDNEY_RN):
            op.pathology = self._pathology(t, op, lesion_mm)
        return op

    def _periop(self, op: Op, kind: str, salvage: bool) -> None:
        d, p = self.d, self.patient
        if kind == KIDNEY_ABLATION:
            op.operative_time_min = round(d.bounded_normal(90, 30, 30, 240))
            op.blood_loss_ml = (
                round(d.bounded_lognormal(10, 1.0, 0, 500)) if d.chance(0.5) else None
            )
            op.length_of_stay_days = d.pick(((0, 0.3), (1, 0.6), (2, 0.1)))
            op.transfusion_units = 0
        else:
            open_ = op.approach == "open"
            if salvage:
                ebl = d.lognormal(D.SALVAGE_EBL_MEDIAN, D.SALVAGE_EBL_SIGMA)
            else:
                ebl = d.lognormal(D.EBL_MEDIAN.get(op.approach, 250.0), D.EBL_SIGMA)
            op.blood_loss_ml = int(min(12_000, max(10, round(ebl, -1))))
            base_time = 170 if kind == KIDNEY_PN else 150
            op.operative_time_min = round(
                d.bounded_normal(base_time * (1.35 if salvage else 1.0), 45, 60, 600)
            )
            op.length_of_stay_days = round(d.bounded_normal(6 if open_ else 3, 1.5, 1, 30))
            transfused = d.chance(0.25 if salvage else D.P_TRANSFUSION.get(kind, 0.05))
            transfused = transfused or op.blood_loss_ml > 1500
            op.transfusion_units = d.int_between(1, 4) if transfused else 0
            if kind == KIDNEY_PN:
                if salvage or not d.chance(D.P_OFF_CLAMP):
                    mean = D.SALVAGE_WIT_MEAN if salvage else D.WIT_MEAN
                    op.warm_ischemia_min = round(
                        d.bounded_normal(mean, D.WIT_SD, D.WIT_MIN, D.WIT_MAX)
                    )
                if open_ and d.chance(D.P_COLD_ISCHAEMIA_OPEN_PN):
                    op.cold_ischemia_min = round(d.bounded_normal(35, 10, 15, 90))
            if kind in (KIDNEY_PN, KIDNEY_RN):
                op.conversion = "none"
                if op.approach in ("laparoscopic", "robotic") and d.chance(
                    D.P_CONVERSION_OPEN_MIS * (3 if salvage else 1)
                ):
                    op.conversion = "open"
                if kind == KIDNEY_PN and d.chance(
                    D.P_SALVAGE_CONVERSION_RADICAL if salvage else D.P_CONVERSION_RADICAL_PN
                ):
                    op.conversion = "radical"
        # Renal function: the operated kidney loses parenchyma; no kidney left = dialysis.
        if op.kidney is not None:
            effect = D.RENAL_EFFECT[op.kidney]
            if op.conversion == "radical":
                effect = D.RENAL_EFFECT[KIDNEY_RN]
            op.renal_factor = max(1.0, d.normal(*effect))
            loses_last_kidney = op.kidney == KIDNEY_RN or op.conversion == "radical"
            solitary = p.solitary_kidney != "none" or self._other_kidney_removed(op)
            if op.kidney == KIDNEY_RN or op.kidney == KIDNEY_PN:
                op.dialysis_expected_preop = "false"
            if loses_last_kidney and solitary:
                # the founding salvage-surgery study / B13: dialysis expected pre-operatively is
                # recorded as
                # such, not as a Clavien complication.
                if op.kidney == KIDNEY_RN:
                    op.dialysis_expected_preop = "true"
                    self.dialysis.append((op.date + d.int_between(1, 5), None))
                else:  # unplanned: PN converted to RN of the only kidney (B13: IVa-d)
                    day = op.date + d.int_between(1, 3)
                    self.dialysis.append((day, None))
                    op.complications.append(
                        Complication(
                            day,
                            "IVa-d",
                            "dialysis after conversion to radical nephrectomy of a solitary kidney",
                        )
                    )
        self._complications(op, "salvage" if salvage else kind)

    def _other_kidney_removed(self, op: Op) -> bool:
        if op.tumour is None:
            return False
        for earlier in self.ops:
            if earlier is op or earlier.tumour is None or earlier.date > op.date:
                continue
            if earlier.tumour.side != op.tumour.side and (
                earlier.kidney == KIDNEY_RN or earlier.conversion == "radical"
            ):
                return True
        return False

    def _complications(self, op: Op, kind: str) -> None:
        d = self.d
        if not d.chance(D.P_COMPLICATION.get(kind, 0.1)):
            return
        grade = d.pick(D.CLAVIEN_GRADES)
        if op.approach == "percutaneous" and grade in ("IVb", "V"):
            grade = "II"
        if grade == "II" and d.chance(0.4):
            description = "blood transfusion"
            op.transfusion_units = max(op.transfusion_units or 0, d.int_between(1, 3))
        else:
            options = D.CLAVIEN_DESCRIPTION[grade]
            description = options[d.int_between(0, len(options) - 1)]
        day = op.date + d.int_between(0, 21)
        written = grade
        if grade == "IVa":  # unexpected dialysis: IVa, or IVa-d if
            stop = day + d.int_between(5, 40)  # still on dialysis at discharge
            if d.chance(0.3):
                written = "IVa-d"
                stop = day + d.int_between(60, 400)
            self.dialysis.append((day, stop))
        if grade == "V":
            self._candidate_deaths.append((day, "other"))
        op.complications.append(Complication(day, written, description))

    def _biopsy_result(self, t: Tumour) -> str:
        return "unknown" if self.d.chance(D.P_BIOPSY_NONDIAGNOSTIC) else t.histology

    def _pathology(self, t: Tumour, op: Op, lesion_mm: int | None) -> dict[str, str]:
        """Specimen pathology; pT agrees with the pathological size (AJCC 8, AJCC 8)."""
        d = self.d
        radiological = lesion_mm if lesion_mm is not None else t.size_mm
        size = max(5, round(radiological * d.bounded_normal(0.95, 0.08, 0.7, 1.2)))
        histology = t.histology
        row = {
            "histology": histology,
            "size_mm": str(size),
            "necrosis": "false",
            "sarcomatoid": "false",
        }
        kind = "salvage" if op.intent == "salvage" else op.type
        positive = d.chance(D.P_POSITIVE_MARGIN.get(kind, 0.05))
        row["margin"] = "positive" if positive else "negative"
        if histology in D.BENIGN:
            return row
        extension = t.extension if lesion_mm is None else "none"
        if extension == "none" and op.intent != "salvage" and d.chance(0.06):
            extension = "T3a"  # upstaging: perirenal or sinus fat invasion found at pathology
        row["pt"] = t_category(size, extension)
        if t.cn == "N1" and d.chance(0.7):
            row["pn"] = "N1" if d.chance(0.7) else "N0"
        elif d.chance(0.15):
            row["pn"] = "N0"
        else:
            row["pn"] = "NX"
        if t.cm == "M1":
            row["pm"] = "M1"
        if histology in ("clear_cell", "papillary", "other"):
            big = size > 70 or extension != "none"
            row["isup_grade"] = str(
                d.pick(
                    ((1, 0.08), (2, 0.35), (3, 0.4), (4, 0.17))
                    if big
                    else ((1, 0.15), (2, 0.5), (3, 0.3), (4, 0.05))
                )
            )
        row["necrosis"] = "true" if d.chance(0.45 if size > 70 else 0.15) else "false"
        row["sarcomatoid"] = "true" if d.chance(0.1 if t.cm == "M1" else 0.02) else "false"
        return row

    # --- after a local treatment: failure, salvage, progression -------------------------------
    def _after_local(self, t: Tumour, op: Op) -> None:
        d = self.d
        if op.type in _ABLATIONS:
            self._ablation_failure(t, op, depth=0)
        elif op.kidney == KIDNEY_PN and t.histology not in D.BENIGN:
            p_rec = D.P_LOCAL_RECURRENCE_AFTER_PN
            if op.pathology and op.pathology.get("margin") == "positive":
                p_rec *= D.MARGIN_RECURRENCE_FACTOR
            if d.chance(p_rec):
                day = op.date + int(d.uniform(0.75, 7.0) * D.DAYS_PER_YEAR)
                site = "resection_bed" if d.chance(0.6) else "remote_same_kidney"
                self._salvage_after_pn(t, op, day, site)
        elif (
            op.kidney == KIDNEY_RN
            and t.histology not in D.BENIGN
            and d.chance(D.P_LOCAL_RECURRENCE_AFTER_RN)
        ):
            day = op.date + int(d.uniform(0.75, 6.0) * D.DAYS_PER_YEAR)
            self.events.append(Event(t.tumour_id, day, "local_recurrence", "renal_fossa"))
            # SAL-09: surgical excision of an isolated renal-fossa recurrence
            excision = self._new_op(t, day + d.int_between(30, 90), "other", "open", "salvage")
            excision.parent = op
            if d.chance(D.P_PARENT_EXPLICIT):
                excision.parent_written = op.op_id
            self._periop(excision, "other", salvage=True)
        self._progression(t, op)

    def _ablation_failure(self, t: Tumour, op: Op, depth: int) -> None:
        d = self.d
        if t.histology in D.BENIGN:
            return
        p_fail_scale = 1.5 if t.size_mm > 30 else 1.0
        if depth == 0 and d.chance(D.P_RESIDUAL_AFTER_ABLATION * p_fail_scale):
            # Residual disease: enhancement at the 3-month imaging (Delphi, A.11 [V]).
            day = op.date + d.int_between(80, 110)
            self.events.append(
                Event(
                    t.tumour_id,
                    day,
                    "residual_disease",
                    "enhancement at 3-month imaging (ablation_zone)",
                )
            )
        elif d.chance(
            D.P_RECURRENCE_AFTER_ABLATION * p_fail_scale
            if depth == 0
            else D.P_RECURRENCE_AFTER_REABLATION
        ):
            day = op.date + int(d.uniform(0.75, 5.0) * D.DAYS_PER_YEAR)
            self.events.append(Event(t.tumour_id, day, "local_recurrence", "ablation_zone"))
        else:
            return
        lesion = round(d.bounded_lognormal(18.0, 0.4, 6.0, 60.0))
        self.imaging.append(Imaging(t.tumour_id, day, "ct" if d.chance(0.8) else "mri", lesion))
        self._salvage_after_ablation(t, op, day, lesion, depth)

    def _salvage_after_ablation(
        self, t: Tumour, failed: Op, day: int, lesion: int, depth: int
    ) -> None:
        """SAL-02..06: re-ablation first when feasible, else salvage PN, else salvage RN."""
        d, p = self.d, self.patient
        when = day + d.int_between(30, 120)
        if p.frail and self.age(day) >= 80 and d.chance(0.5):  # SAL-06
            self._new_op(t, when, "active_surveillance", "none", "primary").intent_written = ""
            return
        limit = 40 if failed.type == "cryoablation" else 30
        if depth == 0 and lesion <= limit and not t.central and d.chance(0.5):  # SAL-02
            redo = self._local_op(t, "ablation", when, "salvage", parent=failed, lesion_mm=lesion)
            self._ablation_failure(t, redo, depth=1)
            return
        solitary = p.solitary_kidney != "none"
        choice = "pn" if d.chance(0.85 if solitary else 0.75) else "rn"  # IBJU 10 PN / 3 RN
        self._local_op(t, choice, when, "salvage", parent=failed, lesion_mm=lesion)

    def _salvage_after_pn(self, t: Tumour, failed: Op, day: int, site: str) -> None:
        """SAL-07/08: repeat PN, completion RN or ablation for local recurrence after PN."""
        d, p = self.d, self.patient
        lesion = round(d.bounded_lognormal(20.0, 0.4, 6.0, 70.0))
        self.events.append(Event(t.tumour_id, day, "local_recurrence", site))
        self.imaging.append(Imaging(t.tumour_id, day, "ct", lesion))
        when = day + d.int_between(30, 120)
        if p.solitary_kidney != "none":
            choice = d.pick((("ablation", 0.6), ("pn", 0.35), ("rn", 0.05)))
        else:
            choice = d.pick((("pn", 0.45), ("rn", 0.3), ("ablation", 0.2), ("as", 0.05)))
        if choice == "ablation" and lesion > 40:
            choice = "pn"
        if choice == "as":
            self._new_op(t, when, "active_surveillance", "none", "primary").intent_written = ""
            return
        self._local_op(t, choice, when, "salvage", parent=failed, lesion_mm=lesion)

    def _progression(self, t: Tumour, op: Op) -> None:
        """Metachronous metastasis after local treatment; systemic therapy; RCC death."""
        d, p = self.d, self.patient
        if t.histology in D.BENIGN or t.cm == "M1":
            return
        stage = (op.pathology or {}).get("pt", t.ct)
        if not d.chance(D.p_distant_metastasis(stage)):
            return
        years = d.lognormal(D.METASTASIS_MEDIAN_YEARS, D.METASTASIS_SIGMA)
        day = op.date + max(60, int(years * D.DAYS_PER_YEAR))
        site = d.pick(
            (("lung", 0.5), ("bone", 0.2), ("liver", 0.1), ("lymph nodes", 0.15), ("brain", 0.05))
        )
        self.events.append(Event(t.tumour_id, day, "distant_metastasis", site))
        survival = d.exponential(D.RCC_SURVIVAL_MEDIAN_MONTHS_METACHRONOUS / _LN2) * DAYS_PER_MONTH
        self._candidate_deaths.append((day + 30 + int(survival), "rcc"))
        if not p.frail or d.chance(0.5):
            self._new_op(
                None, day + d.int_between(20, 75), "systemic_therapy", "none", "palliative"
            )
        if site == "bone" and d.chance(0.4):
            self._new_op(None, day + d.int_between(10, 60), "radiotherapy", "none", "palliative")
        elif site == "lung" and not p.frail and d.chance(0.2):  # MDL-02
            meta = self._new_op(
                None, day + d.int_between(30, 120), "metastasectomy", "laparoscopic", "primary"
            )
            meta.intent_written = ""
            self._periop(meta, "other", salvage=False)
