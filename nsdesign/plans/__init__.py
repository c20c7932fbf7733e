"""Plans: pipelines that combine bands, designs and checks into one answer for a user's question.

`consumer.design_for` — the best design one optimizer can take (`nsdesign search --for TARGET`).
Plans sit above design/, precision/ and laws/ and below the CLI; nothing below imports them.
"""

from nsdesign.plans.consumer import ConsumerDesign, design_for

__all__ = ["ConsumerDesign", "design_for"]
