-- Reserved for emergency plans (activations, steps, levels); filled by its own change.
SELECT 1;
