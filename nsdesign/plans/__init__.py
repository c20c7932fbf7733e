"""Plans: pipelines that combine bands, designs and checks into one answer for a user's question.

`consumer.design_for` — the best design one optimizer can take (`nsdesign search --for TARGET`).
`request.DesignRequest` / `request.route` — what to design, and which engine answers it (and why).
`answer.answer` — the routed engine's design for a request (what `nsdesign search` calls for one design).
Plans sit above design/, precision/ and laws/ and below the CLI; nothing below imports them.
"""

from nsdesign.plans.answer import answer
from nsdesign.plans.consumer import ConsumerDesign, design_for
from nsdesign.plans.request import DesignRequest, Route, route

__all__ = ["ConsumerDesign", "DesignRequest", "Route", "answer", "design_for", "route"]
