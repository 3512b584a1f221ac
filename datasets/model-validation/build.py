# ruff: noqa: E501  (the question table reads best one question per line)
"""Rebuild corpus.jsonl, queries.jsonl and qrels/test.tsv from ten legacy-kb documents.

Run from the repository root: ``python datasets/model-validation/build.py [FOLDER]``
(FOLDER holds the PDFs; default ``../shared/corpus/legacy-kb``).

The corpus is one document per physical page of each of the ten model-validation
PDFs in :data:`FILES` (ids ``KEY/page-N`` with KEY the file's stem, text from
TidyLLM's own extractor; pages without a text layer are left out). Every file is
in the corpus, so each document is a distractor for the questions on the others.
The questions were written by reading the extracted text page by page; each
names its source file, lists the pages that answer it (answer page first;
grade 2: states the answer, grade 1: mentions it in passing) and a short answer
phrase that :func:`page_qa.check` confirms is on the first listed page, so a
question cannot silently drift from its page when the text is extracted again.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # datasets/page_qa.py, shared by the set builders

import page_qa  # noqa: E402

DEFAULT_FOLDER = HERE.parents[2] / "shared" / "corpus" / "legacy-kb"

MOODYS = "2019-02-26-Model-Validation.pdf"
ACAMS = "ACAMS_NJ_-_Model_Validation_Tuning_Overview_Final.pdf"
CADTH = "MH0026-tool-for-model-validation.pdf"
EXPERIMENTS = "Validationofmodelswithexperimentaldataandanalysisofdiscrepancies.pdf"
ACTUARIAL = "Whitepaper-Model-Validation-Best-Practices-1.pdf"
CFA = "investment-model-validation.pdf"
PROTIVITI = "ml-model-validation-best-practice.pdf"
LLOYDS = "pdf-model-validation-Validation-Workshop-2018.pdf"
BCBS = "bcbs_wp14.pdf"
ECB = "instructions_validation_reporting_credit_risk.en.pdf"
FILES = (MOODYS, ACAMS, CADTH, EXPERIMENTS, ACTUARIAL, CFA, PROTIVITI, LLOYDS, BCBS, ECB)

# (id, question, answer phrase found on the first page listed, source file, {page: grade})
QUESTIONS: list[page_qa.SourcedQuestion] = [
    # Moody's Analytics slides, "Validating Models Effectively" (2019)
    (
        "mv01",
        "Which verdict do Moody's validators give a model whose data, concept or development process is so flawed that it must not be used for any decisions?",
        "Unfit for Use",
        MOODYS,
        {7: 2, 6: 1},
    ),
    (
        "mv02",
        "How many economic forecast paths at minimum does Moody's expect an IFRS 9 expected credit loss model to use, and which ones?",
        "Minimum 3 scenarios (baseline, upside & downside)",
        MOODYS,
        {21: 2},
    ),
    (
        "mv03",
        "Under CECL, which valuation method should a lender apply to the troubled loan restructurings it anticipates?",
        "accounted for using DCF method",
        MOODYS,
        {20: 2},
    ),
    (
        "mv04",
        "How large is the economist team behind Moody's validation services, and what share of them hold doctorates?",
        "more than 100 economists; over 40% hold PhD degrees",
        MOODYS,
        {27: 2},
    ),
    (
        "mv05",
        "Which Federal Reserve/OCC supervisory letter does Moody's follow when validating models?",
        "supervisory letter SR11-7",
        MOODYS,
        {5: 2},
    ),
    # Crowe for the ACAMS New Jersey chapter: AML model validation and tuning (2022)
    (
        "mv06",
        "How much was a US federal savings bank fined in March 2022 for anti-money-laundering failures that included a badly flawed customer risk scoring model?",
        "$60 million civil monetary penalty",
        ACAMS,
        {14: 2},
    ),
    (
        "mv07",
        "On what date did the US banking agencies jointly state that model risk management guidance also covers systems used for BSA/AML compliance?",
        "April 9, 2021",
        ACAMS,
        {15: 2},
    ),
    (
        "mv08",
        "When did New York's state financial regulator adopt its Part 504 rule on transaction monitoring and sanctions filtering programs?",
        "January 1, 2017",
        ACAMS,
        {16: 2},
    ),
    (
        "mv09",
        "When a new AML monitoring scenario is tuned before it goes live, from what values should its initial alert thresholds be set?",
        "lowest logical values",
        ACAMS,
        {26: 2},
    ),
    (
        "mv10",
        "Why do AML teams test alert thresholds below the level currently set in production?",
        "ensure suspicious activity is not going undetected",
        ACAMS,
        {26: 2, 24: 1},
    ),
    # CADTH model validation tool for economic evaluations (2024)
    (
        "mv11",
        "Which Excel reference functions does the CADTH checklist say make a cost-effectiveness model less transparent?",
        "CHOOSE, INDIRECT, OFFSET, and INDEX",
        CADTH,
        {7: 2},
    ),
    (
        "mv12",
        "If every quality-of-life weight is set to one and every disutility to zero, what should the quality-adjusted life years equal?",
        "QALYs are equivalent to life-years",
        CADTH,
        {5: 2},
    ),
    (
        "mv13",
        "When verifying a health economic model, what should come first: checking how results respond to changed inputs, or scrutinising the formulas?",
        "assessment of model behaviour (black box testing)",
        CADTH,
        {4: 2, 5: 1, 6: 1},
    ),
    (
        "mv14",
        "For an evaluation with a time horizon greater than 1 year, what should happen to costs and QALYs when the discount rate is set to 0%?",
        "the costs and QALYs for all interventions increase",
        CADTH,
        {6: 2},
    ),
    # Brightwood et al., "Validation of models with experimental data and analysis of discrepancies" (2024)
    (
        "mv15",
        "In which IEEE journal did the 2024 paper on checking model predictions against experiments appear?",
        "IEEE Transactions on Aerospace and Electronic Systems",
        EXPERIMENTS,
        {1: 2},
    ),
    (
        "mv16",
        "Which error metric penalises big prediction misses more heavily than small ones?",
        "Root Mean Square Error (RMSE)",
        EXPERIMENTS,
        {6: 2, 3: 1, 10: 1},
    ),
    (
        "mv17",
        "What is the weakness of varying a single input while keeping all the others fixed?",
        "may not capture interactions between inputs",
        EXPERIMENTS,
        {8: 2},
    ),
    (
        "mv18",
        "What kind of chart does the discrepancy paper suggest for showing which inputs move a model's output the most?",
        "tornado diagrams",
        EXPERIMENTS,
        {9: 2},
    ),
    (
        "mv19",
        "In the drug dosing case study, against what evidence was the refined model checked?",
        "validated against clinical trial results and real-world patient data",
        EXPERIMENTS,
        {18: 2, 17: 1},
    ),
    # Actuarial white paper, "Model Validation Best Practices" (2024)
    (
        "mv20",
        "How much money did JPMorgan Chase lose by relying on a faulty quantitative model, according to the actuarial validation white paper?",
        "nearly $6 billion loss",
        ACTUARIAL,
        {2: 2},
    ),
    (
        "mv21",
        "What do the actuarial authors regard as the best possible way to check a model's calculations?",
        "independently built first-principles model is the gold standard",
        ACTUARIAL,
        {4: 2},
    ),
    (
        "mv22",
        "How can randomly generated economic scenarios that feed an actuarial model be checked?",
        "performing martingale tests",
        ACTUARIAL,
        {4: 2},
    ),
    (
        "mv23",
        "Which section of the actuarial standard of practice on modeling requires the validation to confirm that the output represents what is intended to be modeled?",
        "ASOP 56 Section 3.6.2",
        ACTUARIAL,
        {4: 2},
    ),
    (
        "mv24",
        "If generative AI tools take over some validation tasks, who stays accountable for the validation?",
        "the responsibility for the model validation remains with the model validation team",
        ACTUARIAL,
        {4: 2},
    ),
    (
        "mv25",
        "In what year did the ORSA model act take effect for large and medium-sized US insurers?",
        "in 2015 the NAIC Risk Management and Own Risk and Solvency Assessment Model Act",
        ACTUARIAL,
        {2: 2},
    ),
    # CFA Institute Research Foundation, "Investment Model Validation" (Simonian, 2024)
    (
        "mv26",
        "When the simplest form of cross-validation sets part of the dataset aside for testing, how large is that part typically?",
        "often around 20%–30%",
        CFA,
        {20: 2},
    ),
    (
        "mv27",
        "What tail-heaviness value does a Gaussian return distribution have, per the investment model validation guide?",
        "The kurtosis of a normal distribution is 3",
        CFA,
        {25: 2},
    ),
    (
        "mv28",
        "What name is given to the danger that a backtest's compounded performance depends on the date it starts from?",
        "inception point risk",
        CFA,
        {18: 2},
    ),
    (
        "mv29",
        "Who first proposed the resampling technique that recombines pieces of actual history into new histories, and in what year?",
        "introduced by Efron (1979)",
        CFA,
        {35: 2, 58: 1},
    ),
    (
        "mv30",
        "In the CFA monograph's example comparing two models that forecast whether the S&P 500 goes up or down, what p-value did the paired chi-squared test give?",
        "p-value of 0.2113",
        CFA,
        {43: 2, 44: 1},
    ),
    (
        "mv31",
        "How big was the JPMorgan credit-derivatives loss that serves as a correlation stress-testing case study in the investment model validation guide?",
        "$6.2 billion loss on a credit derivative portfolio at JPMorgan",
        CFA,
        {49: 2},
    ),
    (
        "mv32",
        "What is stress testing called when it shocks the factors of a factor model to find a portfolio's weak points?",
        "also known as factor push",
        CFA,
        {47: 2, 48: 1},
    ),
    (
        "mv33",
        "Which optimisation algorithm trained the generator and discriminator networks in the monograph's synthetic data example?",
        "trained using the Adam optimizer",
        CFA,
        {38: 2},
    ),
    (
        "mv34",
        "What does the investment guide call the less technical documentation written for stakeholders who cannot follow the mathematics?",
        "expository model documentation",
        CFA,
        {54: 2, 57: 1},
    ),
    (
        "mv35",
        "Of the two information criteria for choosing between models, which one punishes models with many explanatory variables more harshly?",
        "the SC imposes a higher penalty on models with many explanatory variables",
        CFA,
        {41: 2, 42: 1},
    ),
    (
        "mv36",
        "What does LASSO stand for?",
        "least absolute shrinkage and selection operator",
        CFA,
        {48: 2},
    ),
    # Protiviti, "ML Model Validation Best-Practice" (2024)
    (
        "mv37",
        "On what date did India's central bank issue its circular on managing model risk in credit?",
        "dated 5th August 2024",
        PROTIVITI,
        {3: 2},
    ),
    (
        "mv38",
        "How frequently must regulated Indian lenders have their credit risk models validated?",
        "at least on a yearly basis",
        PROTIVITI,
        {3: 2, 8: 2},
    ),
    (
        "mv39",
        "Into which three parts can a machine learning model's prediction error be split?",
        "bias, variance, and irreducible error",
        PROTIVITI,
        {5: 2},
    ),
    (
        "mv40",
        "What kind of interpretable model is used to explain a single prediction of an opaque machine learning model?",
        "Local surrogate models",
        PROTIVITI,
        {5: 2},
    ),
    (
        "mv41",
        "Which index is used to assess model stability between in-sample, out-of-sample and out-of-time samples?",
        "population stability index",
        PROTIVITI,
        {7: 2},
    ),
    # Lloyd's internal model validation market workshop (May 2018)
    (
        "mv42",
        "How many managing agencies had their validation reports examined closely by Lloyd's for the 2018 year of account?",
        "42 managing agents reviewed in detail",
        LLOYDS,
        {7: 2},
    ),
    (
        "mv43",
        "How many questions in how many sections did Lloyd's 2018 YoA validation report review template have?",
        "72 questions covering 4 broad sections",
        LLOYDS,
        {7: 2},
    ),
    (
        "mv44",
        "What was the cut-off date in 2018 for sending validation plans to Lloyd's?",
        "Deadline for submission this year is 15th June",
        LLOYDS,
        {5: 2, 4: 1},
    ),
    (
        "mv45",
        "In Lloyd's example of presenting a backtest, what condition on the experienced ultimate loss ratios gives a clean pass?",
        "If all experienced ULRs are less than the 1-in-10 modelled ULR",
        LLOYDS,
        {16: 2},
    ),
    (
        "mv46",
        "Which cruise ship disaster explained the marine class's unusually high loss ratio in Lloyd's backtesting example?",
        "Costa Concordia loss",
        LLOYDS,
        {16: 2},
    ),
    (
        "mv47",
        "Which data platform replaces Core Market Returns in the 2019 year of account process?",
        "MDC (Market Data Collections)",
        LLOYDS,
        {33: 2},
    ),
    (
        "mv48",
        "To illustrate model drift, how many small changes did Lloyd's see one syndicate make to its model within a single year?",
        "had > 100 minor model changes in a year",
        LLOYDS,
        {30: 2},
    ),
    (
        "mv49",
        "Under which article of the EU insurance solvency directive is P&L attribution a key requirement?",
        "Solvency II Directive (Article 123)",
        LLOYDS,
        {23: 2},
    ),
    # Basel Committee Working Paper 14, "Studies on the Validation of Internal Rating Systems" (2005)
    (
        "mv50",
        "From how many countries did the Basel Committee's validation group draw its members?",
        "representatives from eleven countries",
        BCBS,
        {9: 2, 15: 1},
    ),
    (
        "mv51",
        "Who chaired the Validation Group that wrote Basel working paper 14?",
        "Mr Thilo Liebig Deutsche Bundesbank, Frankfurt",
        BCBS,
        {3: 2},
    ),
    (
        "mv52",
        "How many years of probability of default history does the revised Basel framework require at minimum?",
        "length of time series for PDs (five years)",
        BCBS,
        {11: 2, 37: 2},
    ),
    (
        "mv53",
        "In practice, between what values does the Gini coefficient of a bank's rating system usually lie?",
        "range of 50% and 80%",
        BCBS,
        {38: 2},
    ),
    (
        "mv54",
        "Which test lets a bank check the default probability forecasts of several rating grades at once rather than one grade at a time?",
        "chi-square (or Hosmer-Lemeshow) test",
        BCBS,
        {41: 2, 42: 1, 43: 1, 60: 1},
    ),
    (
        "mv55",
        "Into which colours does the traffic lights approach to PD backtesting map the yearly number of defaults?",
        "green, yellow, orange, and red",
        BCBS,
        {42: 2, 63: 1},
    ),
    (
        "mv56",
        "Under the Basel II definition, how long may a borrower be behind on a material credit obligation before counting as defaulted?",
        "past due more than 90 days",
        BCBS,
        {71: 2},
    ),
    (
        "mv57",
        "In the study of Spanish mortgages, how much did the estimated loss severity rise when the discount rate went up by one percentage point?",
        "increase in the LGD estimate of around 8%",
        BCBS,
        {76: 2},
    ),
    (
        "mv58",
        "What leftover unrecovered amount might a bank use as the signal that the recovery process on a defaulted loan is over?",
        "remaining non-recovered value is lower than 5% of the EAD",
        BCBS,
        {73: 2},
    ),
    (
        "mv59",
        "How many years of data must the reference data set for loss given default on corporate exposures cover?",
        "seven years of data for corporate",
        BCBS,
        {77: 2},
    ),
    (
        "mv60",
        "In exposure at default estimation, what do CCFs estimate?",
        "estimates of potential future draw downs",
        BCBS,
        {102: 2, 72: 1},
    ),
    (
        "mv61",
        "According to the Accord Implementation Group's principles for IRB validation, who has primary responsibility for validation?",
        "The bank has primary responsibility for validation",
        BCBS,
        {12: 2, 9: 1},
    ),
    # ECB, "Instructions for reporting the validation results of internal models" (IRB credit risk, 2019)
    (
        "mv62",
        "At minimum, how often must supervisors review whether a bank still complies with the requirements for using internal models?",
        "at least every three years",
        ECB,
        {4: 2},
    ),
    (
        "mv63",
        "What is the deadline for sending a finished, management-approved validation report to the ECB?",
        "no later than one month after the validation reports are finalised",
        ECB,
        {5: 2},
    ),
    (
        "mv64",
        "How large an effect on risk-weighted exposures must identified flaws have for the validation function to rate a model as having major, but not severe, deficiencies?",
        "equal to or above +/- 5% but below +/- 10%",
        ECB,
        {13: 2},
    ),
    (
        "mv65",
        "How old can a borrower's rating be before the ECB wants that borrower left out of the PD back-testing sample?",
        "ratings assigned more than 12 months before the start",
        ECB,
        {16: 2},
    ),
    (
        "mv66",
        "Which Bayesian test with a beta posterior must banks use to check the calibration of their default probability estimates per grade and for the whole portfolio?",
        "PD back-testing using a Jeffreys test",
        ECB,
        {21: 2},
    ),
    (
        "mv67",
        "How does the ECB measure whether borrowers are bunched into too few rating grades?",
        "Herfindahl Index",
        ECB,
        {27: 2},
    ),
    (
        "mv68",
        "Which kinds of specialised lending may a bank report as separate slotting models?",
        "project finance, real estate, object finance and commodities financing",
        ECB,
        {61: 2},
    ),
    (
        "mv69",
        "In the check for extended loan terms on specialised lending, what remaining maturity defines the customers analysed?",
        "remaining maturities of less than 2.5 years",
        ECB,
        {63: 2, 64: 1},
    ),
    (
        "mv70",
        "What does the MWB metric in the ECB's customer migration analysis stand for?",
        "matrix weighted bandwidth",
        ECB,
        {24: 2, 70: 1},
    ),
    (
        "mv71",
        "How must a bank statistically compare its predicted loss rates with the losses actually realised on closed recoveries?",
        "one-sample t-test for paired observations",
        ECB,
        {31: 2, 41: 1, 46: 1},
    ),
    (
        "mv72",
        "How must the template files that a bank sends the ECB for validation reporting be named?",
        "[LEICode]_[ModelType]_[ModelID]_[ReferenceDate]_[VersionNumber]",
        ECB,
        {10: 2},
    ),
]


def main(folder: Path) -> None:
    from tidyllm.extraction import extract

    documents: dict[str, tuple[str | None, dict[int, str]]] = {}
    for name in FILES:
        document = extract(folder / name)
        pages = {p.number: p.text for p in document.pages if p.text.strip()}
        documents[name] = (document.title, pages)
    page_qa.write_documents(HERE, QUESTIONS, documents)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FOLDER)
