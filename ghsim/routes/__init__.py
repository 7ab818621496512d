"""One APIRouter per resource family; ``ghsim.app`` composes them."""
